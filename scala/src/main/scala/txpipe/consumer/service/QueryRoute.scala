package txpipe.consumer.service

import org.apache.kafka.streams.{KafkaStreams, KeyQueryMetadata}
import org.apache.kafka.streams.state.HostInfo

/** Where a request for one account is answered: here, at its owner, or nowhere for now. */
sealed trait QueryRoute

/** The routing decision for `GET /accounts/{account}`. */
object QueryRoute {

  /** This instance owns the account: answer from its committed view. */
  case object Local extends QueryRoute

  /** Another instance owns it: relay the request there, once. */
  final case class Forward(owner: HostInfo) extends QueryRoute

  /** No one can answer now (503 with Retry-After), and why. */
  final case class Unavailable(reason: String) extends QueryRoute

  /** The route for an account whose owner Kafka Streams gives as `metadata`, asked of the
    * instance `self` while Streams is in `state`; `forwarded` when another instance sent it here. */
  def decide(state: KafkaStreams.State, metadata: KeyQueryMetadata, self: HostInfo, forwarded: Boolean): QueryRoute =
    if (state == KafkaStreams.State.REBALANCING)
      Unavailable("a rebalance is in progress: the account's owner is being decided")
    else if (state != KafkaStreams.State.RUNNING) Unavailable(s"Kafka Streams is $state on this instance")
    else if (metadata == null || metadata == KeyQueryMetadata.NOT_AVAILABLE || metadata.activeHost == HostInfo.unavailable)
      Unavailable("no instance owns the account's partition yet")
    else if (metadata.activeHost == self) Local
    else if (forwarded)
      // The sender thought this instance owns the account and this one thinks not: ownership is moving.
      Unavailable(s"the account's owner is moving (forwarded here, but the owner is ${show(metadata.activeHost)})")
    else Forward(metadata.activeHost)

  /** `host:port`. */
  def show(h: HostInfo): String = s"${h.host}:${h.port}"
}
