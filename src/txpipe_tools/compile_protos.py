"""Compile proto/*.proto into the importable package ``txpipe.gen``.

Generated code is build output: it is written next to the sources at build time
(``make setup``, the Docker builder stage, the test fixtures) and never committed.
Run: ``python -m txpipe_tools.compile_protos``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SRC_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PROTO_DIR = SRC_DIR.parent / "proto"
DEFAULT_OUT_DIR = SRC_DIR / "txpipe" / "gen"


def compile_protos(proto_dir: Path = DEFAULT_PROTO_DIR, out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Compile every .proto in proto_dir into out_dir; returns the generated files."""
    # Imported here so that importing this module never needs grpcio-tools (a build-only dependency).
    import grpc_tools
    from grpc_tools import protoc

    protos = sorted(proto_dir.glob("*.proto"))
    if not protos:
        raise FileNotFoundError(f"no .proto files in {proto_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "__init__.py").write_text('"""Generated from proto/ by txpipe_tools.compile_protos; do not edit."""\n')
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    # The .pyi stubs beside the modules give type checkers the messages' fields.
    args = ["protoc", f"-I{proto_dir}", f"-I{well_known}", f"--python_out={out_dir}", f"--pyi_out={out_dir}", *map(str, protos)]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {proto_dir}")
    return sorted(out_dir.glob("*_pb2.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compile proto/*.proto into txpipe.gen")
    parser.add_argument("--proto-dir", type=Path, default=DEFAULT_PROTO_DIR, help="where the .proto files are")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where the Python modules go")
    args = parser.parse_args(argv)
    for path in compile_protos(args.proto_dir, args.out_dir):
        print(f"generated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
