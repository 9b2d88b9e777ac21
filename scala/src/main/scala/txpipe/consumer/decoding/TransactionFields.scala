package txpipe.consumer.decoding

/** What a writer's schema must declare for its records to mean what the consumer reads: the
  * brief's five fields, each under its number with its type, not repeated. Names are not
  * compared (they never reach the wire) and further fields are welcome (schemas evolve). */
object TransactionFields {

  /** (number, name, type) of each field the consumer reads. */
  val Required: Seq[(Int, String, String)] = Seq(
    (1, "transaction_id", "string"),
    (2, "account_number", "string"),
    (3, "transaction_reference", "string"),
    (4, "transaction_datetime", "google.protobuf.Timestamp"),
    (5, "amount", "double")
  )

  /** None if `message` declares every required field as required, else the first mismatch. */
  def mismatch(message: MessageOutline): Option[String] =
    Required.iterator.flatMap { case (number, name, wanted) =>
      message.fields.find(_.number == number) match {
        case None => Some(s"has no field $number ($name $wanted)")
        case Some(f) if f.repeated => Some(s"declares field $number (${f.name}) repeated, not a single $wanted")
        case Some(f) if f.typeName != wanted => Some(s"declares field $number (${f.name}) as ${f.typeName}, not $wanted ($name)")
        case Some(_) => None
      }
    }.nextOption()
}
