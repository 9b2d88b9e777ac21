// The Kafka Streams consumer of the transaction pipeline: `../bin/sbt test assembly`.

ThisBuild / scalaVersion := "2.13.18"
ThisBuild / organization := "txpipe"
ThisBuild / version := "0.1.0"

// 4.2.2 is pinned on purpose: it carries the fix for KAFKA-20685, where an exactly-once
// application could count a record twice after being killed with kill -9. Do not move
// below it. (kafka-streams-scala is not used: the topology calls the Java DSL and Processor
// API directly, and that module was not published for 4.2.2.)
val kafkaVersion = "4.2.2"
// Kafka Streams already ships this Jackson line at runtime; using the same one avoids two.
val jacksonVersion = "2.21.6"
// The /metrics endpoint: Prometheus' own Java client (model, text format, JVM metrics).
val prometheusVersion = "1.10.0"

lazy val root = (project in file("."))
  .settings(
    name := "txpipe-consumer",
    scalacOptions ++= Seq("-deprecation", "-feature", "-unchecked", "-Xlint", "-Wunused:imports,privates,locals"),
    javacOptions ++= Seq("--release", "17"),

    // The .proto files are shared with the Python producer, so they live outside this build.
    Compile / PB.protoSources := Seq(baseDirectory.value.getParentFile / "proto"),
    Compile / PB.targets := Seq(
      scalapb.gen(flatPackage = true, grpc = false) -> (Compile / sourceManaged).value / "scalapb"
    ),

    libraryDependencies ++= Seq(
      // Provides google/protobuf/timestamp.proto to protoc, and the runtime for generated code.
      "com.thesamet.scalapb" %% "scalapb-runtime" % scalapb.compiler.Version.scalapbVersion % "protobuf",
      "com.thesamet.scalapb" %% "scalapb-runtime" % scalapb.compiler.Version.scalapbVersion,
      "org.apache.kafka" % "kafka-streams" % kafkaVersion,
      "org.apache.kafka" % "kafka-clients" % kafkaVersion,
      "com.fasterxml.jackson.core" % "jackson-databind" % jacksonVersion,
      "com.github.scopt" %% "scopt" % "4.1.0",
      "io.prometheus" % "prometheus-metrics-core" % prometheusVersion,
      "io.prometheus" % "prometheus-metrics-exposition-textformats" % prometheusVersion,
      "io.prometheus" % "prometheus-metrics-instrumentation-jvm" % prometheusVersion,
      "org.slf4j" % "slf4j-simple" % "2.0.17",
      "org.apache.kafka" % "kafka-streams-test-utils" % kafkaVersion % Test,
      "org.scalatest" %% "scalatest" % "3.2.19" % Test
    ),

    // Forked tests: RocksDB's native library can be loaded only once per JVM class loader,
    // and a fresh JVM keeps repeated `test` runs inside one sbt session working.
    Test / fork := true,
    Test / javaOptions ++= Seq("-Xmx768m"),
    Test / testOptions += Tests.Argument(TestFrameworks.ScalaTest, "-oD"),
    // CI reads a plain "N passed, N failed" closing line; sbt's own summary is not in that form.
    Test / test / testResultLogger := {
      val default = (Test / test / testResultLogger).value
      TestResultLogger { (log, results, taskName) =>
        default.run(log, results, taskName)
        val suites = results.events.values
        val passed = suites.map(_.passedCount).sum
        val failed = suites.map(s => s.failureCount + s.errorCount).sum
        val skipped = suites.map(s => s.skippedCount + s.ignoredCount + s.canceledCount + s.pendingCount).sum
        println(s"$passed passed, $failed failed, $skipped skipped")
      }
    },

    Compile / mainClass := Some("txpipe.consumer.Main"),
    assembly / mainClass := Some("txpipe.consumer.Main"),
    // A fixed path so scripts never have to know the version.
    assembly / assemblyOutputPath := target.value / "txpipe-consumer.jar",
    // `sbt test assembly` already ran the tests once.
    assembly / test := {},
    // Jars such as Jackson are multi-release; without this flag the JVM ignores META-INF/versions.
    assembly / packageOptions += Package.ManifestAttributes("Multi-Release" -> "true"),
    assembly / assemblyMergeStrategy := {
      // The fat jar runs from the class path, where module descriptors mean nothing and clash.
      case PathList(ps @ _*) if ps.last == "module-info.class" => MergeStrategy.discard
      case PathList("META-INF", "services", _*) => MergeStrategy.filterDistinctLines
      case PathList("META-INF", "versions", _*) => MergeStrategy.first
      // The same well-known .proto files ship in protobuf-java and scalapb-runtime.
      case PathList(ps @ _*) if ps.last.endsWith(".proto") => MergeStrategy.first
      case other =>
        val fallback = (assembly / assemblyMergeStrategy).value
        fallback(other)
    }
  )
