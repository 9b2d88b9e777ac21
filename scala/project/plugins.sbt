// Generates ScalaPB classes from ../proto at build time; nothing generated is committed.
addSbtPlugin("com.thesamet" % "sbt-protoc" % "1.0.8")
// Builds the single runnable jar the pipeline scripts start.
addSbtPlugin("com.eed3si9n" % "sbt-assembly" % "2.3.1")

libraryDependencies += "com.thesamet.scalapb" %% "compilerplugin" % "0.11.20"
