// Generates ScalaPB classes from ../proto at build time; nothing generated is committed.
addSbtPlugin("com.thesamet" % "sbt-protoc" % "1.0.8")
// Builds the single runnable jar the pipeline scripts start.
addSbtPlugin("com.eed3si9n" % "sbt-assembly" % "2.3.1")
// Formats and checks the Scala sources (scalafmt's own version is pinned in ../.scalafmt.conf).
// 2.5.x because 2.6 needs sbt 1.12.9 or later; this build is on the sbt in build.properties.
addSbtPlugin("org.scalameta" % "sbt-scalafmt" % "2.5.6")

libraryDependencies += "com.thesamet.scalapb" %% "compilerplugin" % "0.11.20"
