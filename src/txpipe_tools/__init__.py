"""txpipe_tools: the project's tooling around the producer package (not shipped in the producer image).

local_stack (Kafka + schema registry without Docker), demo (the whole pipeline in one command),
consumer_runner (the Scala consumer as a child process), verify (outputs against the ground truth),
class_archive (the consumer JVM's class-data archive), compile_protos (proto/ -> txpipe.gen).
"""
