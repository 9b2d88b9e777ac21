import os
from pathlib import Path

from txpipe_tools.class_archive import ClassArchive, archive_for, usable


def _jar(tmp_path: Path) -> Path:
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"jar")
    return jar


def test_without_an_archive_a_jvm_records_one_to_a_file_of_its_own(tmp_path):
    jar = _jar(tmp_path)
    a, b = ClassArchive(jar), ClassArchive(jar)
    assert not usable(jar)
    assert a.recording != b.recording, "consumers started side by side must not write the same file"
    assert a.flags == [f"-XX:ArchiveClassesAtExit={a.recording}"]
    assert a.recording.parent == jar.parent


def test_a_clean_exit_installs_the_recording_and_later_jvms_map_it(tmp_path):
    jar = _jar(tmp_path)
    for code in (0, 143):  # a run that ended, and one stopped with SIGTERM
        rec = ClassArchive(jar)
        rec.recording.write_bytes(b"archive")
        rec.settle(code)
        assert archive_for(jar).read_bytes() == b"archive" and usable(jar)
        assert ClassArchive(jar).flags == [f"-XX:SharedArchiveFile={archive_for(jar)}"]
        archive_for(jar).unlink()
    assert list(tmp_path.iterdir()) == [jar], "no temporary file is left"


def test_a_killed_or_failed_jvm_leaves_no_archive(tmp_path):
    jar = _jar(tmp_path)
    for code in (-9, 1, None):
        rec = ClassArchive(jar)
        rec.recording.write_bytes(b"maybe half written")
        rec.settle(code)
        assert not archive_for(jar).exists()
    rec = ClassArchive(jar)
    rec.settle(0)  # killed before it wrote anything
    assert list(tmp_path.iterdir()) == [jar]


def test_an_archive_older_than_the_jar_is_recorded_again(tmp_path):
    jar = _jar(tmp_path)
    archive_for(jar).write_bytes(b"archive")
    os.utime(archive_for(jar), (jar.stat().st_mtime - 60, jar.stat().st_mtime - 60))
    assert not usable(jar)
    assert ClassArchive(jar).flags[0].startswith("-XX:ArchiveClassesAtExit=")
