package txpipe.consumer.decoding

/** A valid transaction and where its protobuf payload lies in the record value it came from.
  *
  * @param transaction   the parsed message
  * @param payloadOffset where its payload starts in the record value; it runs to the value's end
  */
final case class DecodedTransaction(transaction: txpipe.v1.Transaction, payloadOffset: Int)
