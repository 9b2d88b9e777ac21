package txpipe.consumer

import java.io.{IOException, UncheckedIOException}
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

  /** Deletes `dir` and everything in it, if it exists. A store's background thread may still be
    * deleting files of its own under it: the walk starts again when one vanishes under it. */
  def delete(dir: Path): Unit = {
    var attempts = 0
    while (Files.exists(dir)) {
      attempts += 1
      try {
        val walk = Files.walk(dir)
        try walk.sorted(Comparator.reverseOrder[Path]()).forEach(p => Files.deleteIfExists(p))
        finally walk.close()
      } catch {
        case e @ (_: UncheckedIOException | _: IOException) =>
          if (attempts >= 20) throw new IllegalStateException(s"could not delete $dir in $attempts attempts", e)
          Thread.sleep(10)
      }
    }
  }
}
