package txpipe.consumer.output

/** The category of a dead letter's reason: a small fixed set, so a metric labelled by it stays
  * bounded whatever records arrive (the reason itself names offsets, ids and sizes). */
object DlqReason {

  /** Every category [[of]] can return. */
  val All: Seq[String] =
    Seq("framing", "oversized", "schema", "undecodable", "invalid_field", "conflicting_duplicate", "other")

  private val FieldPrefixes =
    Seq("amount ", "account_number ", "transaction_id ", "transaction_reference ", "transaction_datetime ")

  /** The category of a DLQ `reason` as the decoder and the totals step word it. */
  def of(reason: String): String =
    if (reason.startsWith("conflicting duplicate")) "conflicting_duplicate"
    else if (reason.startsWith("record key and value are")) "oversized"
    else if (reason.startsWith("schema id ")) "schema"
    else if (reason.startsWith("protobuf payload") || reason.startsWith("record could not be decoded")) "undecodable"
    else if (FieldPrefixes.exists(reason.startsWith)) "invalid_field"
    else if (reason.startsWith("record value is") || reason.startsWith("magic byte") || reason.contains("varint") ||
      reason.startsWith("message index") || reason.startsWith("message-index")) "framing"
    else "other"
}
