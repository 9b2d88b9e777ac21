package txpipe.consumer

import java.nio.file.{Files, Path}
import java.util.Comparator

/** Temporary directories that tests remove when done. */
object TempDirs {

  /** Runs `body` with a new temporary directory, then deletes it and everything in it. */
  def withTempDir[A](prefix: String)(body: Path => A): A = {
    val dir = Files.createTempDirectory(prefix)
    try body(dir)
    finally delete(dir)
  }

  /** Deletes `dir` and everything in it, if it exists. */
  def delete(dir: Path): Unit =
    if (Files.exists(dir)) {
      val walk = Files.walk(dir)
      try walk.sorted(Comparator.reverseOrder[Path]()).forEach(p => Files.deleteIfExists(p))
      finally walk.close()
    }
}
