package txpipe.consumer

import java.nio.file.{Files, Path, Paths}

/** Where the repository's shared files are, whether tests run from scala/ or the repo root. */
object ProjectPaths {
  lazy val repoRoot: Path = {
    val here = Paths.get("").toAbsolutePath
    Iterator.iterate(here)(_.getParent).takeWhile(_ != null)
      .find(p => Files.isDirectory(p.resolve("proto")) && Files.isDirectory(p.resolve("scala")))
      .getOrElse(sys.error(s"cannot find the repository root above $here"))
  }
}
