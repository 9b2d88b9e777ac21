import pytest

from txpipe import producer

BASE = ["-b", "127.0.0.1:1", "-s", "http://127.0.0.1:1", "-t", "t"]


def test_defaults_follow_the_brief():
    args = producer.parse_args(BASE)
    assert (args.count, args.accounts, args.partitions) == (1000, 20, 6)
    conf = producer.producer_config(args)
    assert conf["acks"] == "all" and conf["enable.idempotence"] is True
    assert conf["partitioner"] == "murmur2_random"


def test_extra_settings_are_passed_through():
    conf = producer.producer_config(producer.parse_args(BASE + ["-X", "linger.ms=50", "-X", "batch.size=65536"]))
    assert conf["linger.ms"] == "50" and conf["batch.size"] == "65536"


@pytest.mark.parametrize(
    "extra",
    [
        ["-n", "-1"],
        ["-a", "0"],
        ["-r", "-5"],
        ["-X", "novalue"],
        ["-i", "/nonexistent/file.csv"],
        ["-p", "0"],
        ["--replication-factor", "0"],
    ],
)
def test_bad_flags_exit_2(extra, capsys):
    with pytest.raises(SystemExit) as exc:
        producer.parse_args(BASE + extra)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_rejects_file_must_not_be_the_input(tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text("x\n")
    with pytest.raises(SystemExit):
        producer.parse_args(BASE + ["-i", str(path), "--rejects", str(tmp_path / "." / "in.csv")])
    assert "must not be the --input file" in capsys.readouterr().err
    assert path.read_text() == "x\n"


def test_missing_required_flag_exits_2():
    with pytest.raises(SystemExit) as exc:
        producer.parse_args(["-b", "x"])
    assert exc.value.code == 2


def test_unknown_librdkafka_setting_is_refused_before_connecting(capsys):
    code = producer.main(producer.parse_args(BASE + ["-X", "no.such.setting=1"]))
    assert code == producer.EXIT_USAGE
    assert "no.such.setting" in capsys.readouterr().err


class _CapturingProducer:
    """Stands in for confluent_kafka.Producer: records what would be sent."""

    def __init__(self):
        self.sent = []

    def produce(self, topic, value, key, on_delivery=None):
        self.sent.append((topic, key, value))

    def poll(self, timeout=0):
        return 0


def test_sender_reuses_the_registry_header_byte_for_byte():
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from txpipe.generator import generate
    from txpipe.schema import Transaction

    registry = SchemaRegistryClient.new_client({"url": "mock://sender"})
    serializer = ProtobufSerializer(Transaction, registry, {"use.deprecated.format": False})
    fake = _CapturingProducer()
    sender = producer.Sender(fake, serializer, "t", producer.Stats(), registry_wait=1)
    txs = list(generate(50, 5, seed=3))
    for tx in txs:
        sender.send(tx)
    ctx = SerializationContext("t", MessageField.VALUE)
    assert [v for _, _, v in fake.sent] == [serializer(tx, ctx) for tx in txs]
    assert [k for _, k, _ in fake.sent] == [tx.account_number.encode() for tx in txs]
    assert sender.header == fake.sent[0][2][:6]


def _mock_serializer(name):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

    from txpipe.schema import Transaction

    return ProtobufSerializer(
        Transaction, SchemaRegistryClient.new_client({"url": f"mock://{name}"}), {"use.deprecated.format": False}
    )


def test_failures_reach_the_stats_when_only_failures_are_reported():
    # Nothing listens on port 1: every record times out, and only the delivery callback can say so.
    from confluent_kafka import Producer

    from txpipe.generator import generate

    stats = producer.Stats()
    settings = producer.delivery_settings(stats)
    assert settings["delivery.report.only.error"] is True
    p = Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 300, "log_level": 0, **settings})
    producer.Sender(p, _mock_serializer("failures"), "t", stats, registry_wait=1).send_all(generate(7, 3, seed=1))
    stats.settle(p.flush(10), "not delivered in time")
    assert (stats.queued, stats.failed, stats.delivered) == (7, 7, 0)
    assert "timed out" in stats.first_error


def test_settle_counts_the_rest_as_delivered_only_without_per_record_reports():
    from txpipe.totals import RunningTotals

    stats = producer.Stats(queued=10)
    stats.failed_one("broker said no", b"ACC-0001")
    stats.settle(2, "still queued")
    assert (stats.failed, stats.delivered) == (3, 7)
    assert stats.first_error == "b'ACC-0001': broker said no"

    with_truth = producer.Stats(queued=10, delivered=6, truth=RunningTotals())
    assert producer.delivery_settings(with_truth)["delivery.report.only.error"] is False
    with_truth.settle(4, "still queued")
    assert (with_truth.failed, with_truth.delivered) == (4, 6)
    assert with_truth.first_error == "4 still queued"


def test_send_all_stops_when_asked_and_keeps_the_count():
    from txpipe.generator import generate

    stop = producer._Stop()
    fake = _CapturingProducer()

    def produce(topic, value, key, on_delivery=None):
        fake.sent.append((topic, key, value))
        if len(fake.sent) == 3:
            stop.requested = True

    fake.produce = produce
    stats = producer.Stats()
    producer.Sender(fake, _mock_serializer("stop"), "t", stats, registry_wait=1).send_all(generate(10, 2, seed=1), stop)
    assert len(fake.sent) == 3 and stats.queued == 3


def test_summary_keeps_a_short_run_measurable():
    # A 1000-record run can finish in a few milliseconds; the benchmark reads its rate from this line.
    line = producer.summary("t", producer.Stats(queued=1000, delivered=1000), 0.0043)
    assert "sent=1000 delivered=1000 failed=0 rejected=0 elapsed=0.004s rate=232,558 tx/s" in line
