"""Saving and loading models as safetensors files: the weights as tensors named
``layers.{i}.weight`` / ``layers.{i}.bias`` (PyTorch layout, little-endian float32; for LayerNorm
and BatchNorm layers gamma and beta, as PyTorch names them), BatchNorm's running statistics as
``layers.{i}.running_mean`` / ``layers.{i}.running_var`` (and, for ``momentum=None``, its batch
counter ``layers.{i}.num_batches_tracked``: a 0-d little-endian int64, dtype "I64"; each tensor's
dtype is the layer schema's, ``TensorTable.dtype``), and the architecture as JSON in the
file's metadata.

Writes are atomic: a failed or interrupted save leaves any previous file intact. Reads trust
nothing: ``load`` parses the safetensors container itself and checks every field of the header
against the architecture it declares before it allocates the model, so a truncated, corrupted or
hostile file raises ValueError instead of crashing, hanging, allocating without bound or
returning a wrong model.

File layout (https://github.com/huggingface/safetensors): 8 bytes little-endian unsigned header
length N, N bytes of a UTF-8 JSON object (``"__metadata__"``: str -> str; per tensor
``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` ("I64" for a counter), offsets relative to the first
byte after the header), then the tensor data. fastmlp's metadata: ``format`` ("fastmlp"),
``format_version`` ("1"), ``architecture`` (``Sequential.get_config()`` as JSON) and
``weights_crc32``: 8 hex digits, the CRC-32 of the architecture string (UTF-8) followed by every
tensor's little-endian bytes in ``parameters()`` order, then ``buffers()`` order, then the
optimizer tensors in name order. It catches accidents the container checks cannot (a flipped bit
in a weight, a partly written file of full length); it is optional, so files written by other tools
without it still load. A compiled model also stores its training state (``training``: JSON, and
tensors ``optimizer.<state name>``; see ``_checkpoint``), so that ``load`` returns it compiled and
training resumes bit for bit. No other metadata keys are accepted.

``to_bytes`` / ``from_bytes`` write and read the same file as bytes, with the same checks; a
``Sequential`` pickles through them.

File names and kinds: ``save`` refuses a path whose suffix names another format (``model.h5``,
``.keras``, ``.pt``, ``.pkl``, ``.npy``, ``.onnx``, ``.json``, ...: ``check_save_path``, which
``ModelCheckpoint`` and ``fm.onnx.export`` use too) and writes any other name as given. ``load``
given something that is not a safetensors file (it fails the container checks) reads its first
bytes and says what it is: a NumPy ``.npy`` or ``.npz``, a PyTorch or Keras archive, HDF5, a
pickle, ONNX, JSON or other text, an empty file; a safetensors file without fastmlp's metadata is
named with the tensors it holds. A valid file is never judged by its first bytes.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import struct
import sys
import zlib
from io import BytesIO
from typing import TYPE_CHECKING, Any, BinaryIO, Dict, List, NoReturn, Optional, Tuple, Union

import numpy as np
from safetensors.numpy import save as save_bytes
from safetensors.numpy import save_file

from . import _checkpoint, _core
from . import layers as _layers
from ._atomic import TEMP_SUFFIX, write_atomically
from ._validation import FOREIGN_SUFFIXES, check_bool, check_keys, check_save_path, hex_word, int_in, is_int

if TYPE_CHECKING:
    from .model import Sequential

__all__ = ["save", "load", "to_bytes", "from_bytes", "check_save_path", "FORMAT_NAME", "FORMAT_VERSION", "TEMP_SUFFIX"]

FORMAT_NAME = "fastmlp"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = ("1",)
#: Suffix of the temporary folder a save writes into next to its target (``.<name>.<random>.fastmlp-tmp``).
#: One can only be left behind when the saving process was killed; it is safe to delete.

# Limits on what a file may declare. Real fastmlp headers are a few hundred bytes per layer.
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_LAYERS = 10_000
MAX_WIDTH = 2**31 - 1  # input_dim and units
# Activation values per sample a model may need beyond 2 per parameter (see _architecture_tensors).
ACTIVATION_SLACK = 2**16
_REQUIRED_METADATA = ("format", "format_version", "architecture")
_OPTIONAL_METADATA = ("weights_crc32", _checkpoint.KEY)
_MAX_INT_DIGITS = 20  # JSON integers longer than this are rejected before int() sees them
# The safetensors dtypes the layer schema uses (TensorTable.dtype): NumPy dtype and a name for messages.
_DTYPES: Dict[str, Tuple["np.dtype[Any]", str]] = {
    "F32": (np.dtype(np.float32), "float32"),
    "I64": (np.dtype(np.int64), "int64"),
}

PathLike = Union[str, "os.PathLike[str]"]


class _Invalid(Exception):
    """Internal: what is wrong with a file; load turns it into a ValueError naming the path."""


# =============================================================================== architecture
def _architecture_tensors(config: Any) -> _layers.TensorTable:
    """Validates a model configuration without building anything; returns its tensor table.

    Each layer is read by its class's strict ``from_config`` (the constructor's checks), so a file
    holds only what ``fm.Dense(...)`` and friends accept. Widths are bounded by MAX_WIDTH and the
    layer count by MAX_LAYERS; the parameter count is computed with Python integers (no overflow)
    and is checked against the bytes the file holds by the caller, so a file claiming a
    10**12-unit layer is rejected, not allocated. The activation values one sample needs (what
    predict/fit allocate per row: each layer's output, plus e.g. a mask for Dropout) must stay
    within 2 per parameter plus ACTIVATION_SLACK: every model without stacked Dropout layers does,
    and a small file cannot declare thousands of wide Dropout layers that would need gigabytes at
    the first predict."""
    try:
        check_keys("the architecture", config, ("input_dim", "layers"), ("seed",))
        input_dim = int_in("input_dim", config["input_dim"], 1, MAX_WIDTH)
        int_in("seed", config.get("seed", 0), 0, 2**64 - 1)
        stack, activation_values = _read_layers(config["layers"], input_dim)
        _layers.check_layer_stack(stack)
    except (ValueError, TypeError) as exc:
        raise _Invalid(str(exc)) from None
    table = _layers.tensor_table(stack, input_dim)
    if activation_values > 2 * table.num_params + ACTIVATION_SLACK:
        raise _Invalid(
            f"the architecture needs {activation_values} activation values per sample for only {table.num_params} "
            "parameters (stacked Dropout or normalisation layers?)"
        )
    return table


def _read_layers(configs: Any, input_dim: int) -> Tuple[List[_layers.Layer], int]:
    """The layers of a configuration's "layers" list, each no wider than MAX_WIDTH, and the
    activation values one sample needs in them."""
    if not isinstance(configs, list) or not 1 <= len(configs) <= MAX_LAYERS:
        raise ValueError(f"layers must be a list of 1 to {MAX_LAYERS} layers")
    stack: List[_layers.Layer] = []
    width, activation_values = input_dim, 0
    for i, layer_config in enumerate(configs):
        layer = _layers.from_config(layer_config, f"layers[{i}]")
        activation_values += layer.activation_values(width)
        width = layer.output_width(width)
        if width > MAX_WIDTH:
            raise ValueError(f"layers[{i}] outputs {width} features; a file may declare at most {MAX_WIDTH}")
        stack.append(layer)
    return stack, activation_values


def _value_problem(name: str, view: np.ndarray, dtype: str) -> Optional[str]:
    """What makes a tensor's values unfit for a model file (``save`` does not write them, ``load``
    refuses them), or None: NaN or infinite floats (a diverged model), a negative running_var, a
    negative int64 batch counter."""
    if dtype == "I64":  # num_batches_tracked
        return f"holds a negative count {int(view.min())}" if bool((view < 0).any()) else None
    if not _core.all_finite(view):
        return "contains NaN or infinite values (the checkpoint of a diverged model?)"
    if name.endswith(".running_var") and bool((view < 0).any()):
        return f"holds a negative variance {float(view.min())!r}"
    return None


def _crc32(architecture: str, tensors: List[np.ndarray]) -> str:
    crc = zlib.crc32(architecture.encode("utf-8", "surrogatepass"))
    for t in tensors:
        crc = zlib.crc32((t if sys.byteorder == "little" else t.astype(t.dtype.newbyteorder("<"))).data, crc)
    return f"{crc:08x}"


# =============================================================================== save
def save(model: "Sequential", path: PathLike, include_optimizer: bool = True) -> None:
    """Writes `model` (architecture and weights; for a compiled model with `include_optimizer`,
    also its training state: loss, optimizer configuration and state, metrics, clipping, learning
    rate, step and epoch counters, generator states) to `path`, atomically.

    The file is written into a temporary folder next to `path` (``.<name>.<random>.fastmlp-tmp``),
    flushed to disk (fsync), moved over `path` in one rename and the directory is synced (best
    effort). If anything fails, or the process is interrupted, `path` keeps its previous content
    and the temporary folder is removed; only a killed process can leave one behind, which is safe
    to delete and never affects ``load``. The file is a standard safetensors file.

    `path` should end in ``.safetensors``. A suffix that names another format (``.h5``,
    ``.keras``, ``.pt``, ``.pth``, ``.pkl``, ``.pickle``, ``.joblib``, ``.npy``, ``.npz``, ``.onnx``,
    ``.json``, ...; any case) is refused, because the file would not be what its name says: see
    ``check_save_path``. A name without a suffix or with an unknown one (``ckpt_001``,
    ``model.bin``) is written as given.

    Raises:
        ValueError: `path` ends in the suffix of another format (the message names it and the
            fix), the model has NaN or infinite weights, or an architecture ``load`` would
            refuse (nothing is written: a previous good checkpoint is not replaced by garbage).
        OSError: the file cannot be written (missing or read-only directory, disk full, ...);
            the message names `path`.
        TypeError: `include_optimizer` is not True or False.
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    path = check_save_path("path", path)
    tensors, metadata = _file_contents(model, include_optimizer, repr(path))

    def write(tmp: str) -> None:
        try:
            save_file(tensors, tmp, metadata=metadata)
        except OSError:
            raise
        except Exception as exc:  # safetensors reports I/O failures as SafetensorError
            raise OSError(errno.EIO, f"writing {tmp!r} failed: {exc}", tmp) from exc

    write_atomically(path, write, "save the model")


def to_bytes(model: "Sequential", include_optimizer: bool = True) -> bytes:
    """The bytes of the file ``save(model, path, include_optimizer)`` would write (a standard
    safetensors file; ``from_bytes`` reads it back). Raises RuntimeError for a model without
    weights yet, and ValueError as ``save``."""
    from .model import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an fm.Sequential, got {type(model).__name__}")
    model.parameters()  # builds a model whose input width is declared; RuntimeError naming the fix otherwise
    tensors, metadata = _file_contents(model, include_optimizer, "bytes")
    return bytes(save_bytes(tensors, metadata=metadata))


def _file_contents(
    model: "Sequential", include_optimizer: bool, destination: str
) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """(tensors, metadata) of `model`'s file, checked as ``save`` documents; `destination` names
    where it goes in error messages. TypeError for an `include_optimizer` that is not a bool."""
    include_optimizer = check_bool("include_optimizer", include_optimizer)
    config = model.get_config()
    try:
        table = _architecture_tensors(config)
    except _Invalid as exc:
        raise ValueError(f"cannot save the model to {destination}: {exc}") from None
    names = [name for name, _ in table.parameters + table.buffers]
    params = model.parameters() + model.buffers()
    for name, view in zip(names, params):
        problem = _value_problem(name, view, table.dtype(name))
        if problem is not None:
            raise ValueError(
                f"cannot save the model to {destination}: {name} {problem}; load would refuse the file, so the "
                "previous file is kept"
            )
    tensors: Dict[str, np.ndarray] = dict(zip(names, params))
    architecture = json.dumps(config)
    metadata = {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION), "architecture": architecture}
    if include_optimizer and model.compiled:
        try:
            training, optimizer_tensors = _checkpoint.capture(model)
        except ValueError as exc:
            raise ValueError(f"cannot save the model to {destination}: {exc}") from None
        for name in sorted(optimizer_tensors):
            if not _core.all_finite(optimizer_tensors[name]):
                raise ValueError(
                    f"cannot save the model to {destination}: the optimizer state {name} contains NaN or infinite "
                    "values; save with include_optimizer=False to keep the weights only"
                )
            tensors[name] = optimizer_tensors[name]
            params.append(optimizer_tensors[name])
        metadata[_checkpoint.KEY] = json.dumps(training)
    metadata["weights_crc32"] = _crc32(architecture, params)
    return tensors, metadata



# =============================================================================== what a file is
def _read_container(f: Any, size: int) -> Tuple[int, Dict[str, Any]]:
    """(header length n, the header object) of a safetensors file of `size` bytes; _Invalid when it
    is not one (too short, a header length beyond the file or the limit, no JSON object)."""
    if size < 8:
        raise _Invalid(f"the file is {size} bytes long, too short for a safetensors header (8 bytes)")
    (n,) = struct.unpack("<Q", _read_exact(f, 8, "the header length"))
    if n > size - 8:
        raise _Invalid(f"the header length {n} exceeds the {size - 8} bytes after it (truncated file?)")
    if n > MAX_HEADER_BYTES:
        raise _Invalid(f"the header length {n} exceeds the limit of {MAX_HEADER_BYTES} bytes")
    header = _parse_json("the header", _read_exact(f, n, "the header"))
    if not isinstance(header, dict):
        raise _Invalid(f"the header must be a JSON object, got {type(header).__name__}")
    return n, header


#: How many bytes of a file that is not a safetensors file ``_identify`` reads: enough for every
#: signature below, a zip archive's first entry name and the start of a text file.
_SNIFF_BYTES = 1024
_NOT_SAFETENSORS = "not a safetensors file: fm.load reads the safetensors files model.save writes"
# Field tags an ONNX ModelProto starts with after ir_version (field 1, varint: 0x08 then the version):
# producer_name, producer_version, domain, model_version, doc_string, graph, opset_import.
_ONNX_SECOND_FIELDS = (0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42)


_KERAS_ADVICE = ("fastmlp cannot read Keras files: build the same model with fm.Sequential and copy the weights, "
                 "e.g. model.set_weights(keras_model.get_weights())")


def _identify(f: Any, size: int, suffix: str) -> Optional[str]:
    """What a file (or bytes) that failed the safetensors container checks is, with how to read it
    or get a fastmlp file instead, or None when it is nothing recognised (the caller keeps the
    container's message). Reads at most _SNIFF_BYTES from the start; never trusts a length in them
    beyond those bytes."""
    if size == 0:
        return "the file is empty (0 bytes long, too short for a safetensors header): it holds no model"
    try:
        f.seek(0)
        head = f.read(min(size, _SNIFF_BYTES))
    except (OSError, ValueError):
        return None
    if not isinstance(head, bytes) or not head:
        return None
    if head[8:9] == b"{":  # a safetensors header length then its JSON: a damaged safetensors file, whatever
        return None         # the length's bytes look like (0x80 0x03 0x02 reads as a pickle signature)
    kind, advice = _kind_of(head, suffix)
    if kind is None:
        return None
    return f"it is {kind}, {_NOT_SAFETENSORS}" + (f"; {advice}" if advice else "")


def _kind_of(head: bytes, suffix: str) -> Tuple[Optional[str], str]:
    """(what the bytes `head` at the start of a file are, what to do) or (None, "")."""
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy array file (.npy, written by np.save)", "read it with np.load(path)"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(head)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return (
            "an HDF5 file (Keras .h5 models and weights are HDF5)",
            _KERAS_ADVICE,
        )
    if len(head) >= 3 and head[0] == 0x80 and 2 <= head[1] <= 5 and head[2] != 0:
        return (
            f"a pickle (protocol {head[1]}: pickle.dump, joblib.dump or torch.save's legacy format)",
            "a model pickled with pickle.dump(model, file) comes back with pickle.load(file) (unpickle only files "
            "you trust: loading a pickle runs code)",
        )
    if len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] <= 0x7F and head[2] in _ONNX_SECOND_FIELDS:
        return (
            "an ONNX model (protobuf)" if suffix in ("", ".onnx") else "a protobuf file (an ONNX model?)",
            "fastmlp writes ONNX (fm.onnx.export) but does not read it: run it with onnxruntime, and load the "
            "safetensors file model.save wrote",
        )
    text = _as_text(head)
    if text is not None:
        start = text.lstrip("\ufeff \t\r\n")
        if start[:1] in ("{", "["):
            return (
                "a JSON text file",
                "a model's architecture alone (json.dump(model.get_config(), file)) is rebuilt without its weights "
                "by fm.Sequential.from_config(json.load(file))",
            )
        first = start.splitlines()[0] if start else ""
        return f"a text file (it starts with {first[:40]!r})", ""
    return None, ""


def _zip_kind(head: bytes) -> Tuple[str, str]:
    """What a zip archive is, from its first entry's name in the local header at offset 0 (no
    central directory is read: a hostile archive costs nothing)."""
    name = ""
    if head.startswith(b"PK\x03\x04") and len(head) >= 30:
        (length,) = struct.unpack("<H", head[26:28])
        name = head[30 : 30 + length].decode("utf-8", "replace") if len(head) >= 30 + length else ""
    base = name.rsplit("/", 1)[-1]
    if base in ("data.pkl", "version", "byteorder", ".format_version") or "/data/" in name:
        return (
            "a PyTorch file (torch.save's zip archive)",
            "load it with torch.load, put a state dict into its torch.nn.Sequential and convert that with "
            "fm.from_torch(module)",
        )
    if base in ("metadata.json", "config.json", "model.weights.h5"):
        return (
            "a Keras model archive (.keras)",
            _KERAS_ADVICE,
        )
    if base.endswith(".npy"):
        return "a NumPy archive (.npz, written by np.savez)", "read it with np.load(path)"
    return ("a zip archive" + (f" (its first entry is {name!r})" if name else "")), ""


def _as_text(head: bytes) -> Optional[str]:
    """`head` as text when it is UTF-8 of printable characters and whitespace (a multi-byte
    character cut at the end of `head` allowed), else None."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3 or len(head) < _SNIFF_BYTES:
            return None
        text = head[: exc.start].decode("utf-8")
    if all(c.isprintable() or c in "\t\n\r\f\v\ufeff" for c in text):
        return text
    return None


def _with_suffix_hint(message: str, suffix: str) -> str:
    """A container error, with what the file's suffix names when it names another format."""
    meaning = FOREIGN_SUFFIXES.get(suffix)
    if meaning is None or suffix == ".safetensors":
        return message
    return f"{message}; its name ends in {suffix!r}, the suffix of {meaning[0]}: {_NOT_SAFETENSORS}"


def _not_fastmlp(header: Dict[str, Any], why: str) -> _Invalid:
    """The error for a safetensors file that is not a fastmlp model (no or other metadata): what
    it holds, and for a PyTorch state dict how to get a fastmlp model from it."""
    names = sorted(str(k) for k in header if k != "__metadata__")
    shown = ", ".join(repr(k) for k in names[:4]) + (", ..." if len(names) > 4 else "")
    plural = "s" if len(names) != 1 else ""
    holds = f"it holds {len(names)} tensor{plural} ({shown})" if names else "it holds no tensors"
    metadata = header.get("__metadata__")
    torch_like = (isinstance(metadata, dict) and metadata.get("format") == "pt") or (
        not isinstance(metadata, dict)
        and any(k.endswith((".weight", ".bias")) for k in names)
        and not any(k.startswith("__") for k in names)  # a damaged "__metadata__" key: not a state dict
    )
    advice = (
        "; for a PyTorch state dict, load it into its torch.nn.Sequential "
        "(module.load_state_dict(safetensors.torch.load_file(path))) and convert that with fm.from_torch(module)"
        if torch_like
        else ""
    )
    return _Invalid(
        f"it is a safetensors file but not a fastmlp model: {why} (fastmlp keeps the architecture there); "
        f"{holds}{advice}"
    )


# =============================================================================== load
def _reject_constant(name: str) -> NoReturn:
    raise _Invalid(f"the JSON holds {name}, which is not valid JSON")


def _bounded_int(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS:
        raise _Invalid(f"the JSON holds an integer of {len(text)} digits")
    return int(text)


def _unique_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    obj: Dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _Invalid(f"the JSON repeats the key {key!r}")
        obj[key] = value
    return obj


def _parse_json(what: str, text: Union[str, bytes]) -> Any:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Invalid(f"{what} is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(
            text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant, parse_int=_bounded_int
        )
    except _Invalid as exc:
        raise _Invalid(f"{what}: {exc}") from None
    except RecursionError:
        raise _Invalid(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise _Invalid(f"{what} is not valid JSON ({exc})") from None


def _read_exact(f: Any, n: int, what: str) -> bytes:
    chunks = []
    left = n
    while left > 0:
        chunk = f.read(left)
        if not chunk:
            raise _Invalid(f"the file ended while reading {what} (it changed while being read?)")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _readinto_exact(f: Any, view: np.ndarray, what: str) -> None:
    buf = view.data.cast("B")
    done = 0
    while done < len(buf):
        got = f.readinto(buf[done:])
        if not got:
            raise _Invalid(f"the file ended while reading {what} (it changed while being read?)")
        done += got


def _parse_header(
    header: Any, data_size: int
) -> Tuple[Dict[str, Any], Dict[str, Tuple[int, int]], List[Tuple[str, Tuple[int, ...]]], Any, _layers.TensorTable]:
    """Checks the header object against the architecture in its metadata and the data area size.
    Returns (architecture config, {tensor name: (begin, end)}, [(name, shape)] in parameter, buffer,
    optimizer-state order, the parsed training state or None, the architecture's tensor table,
    whose ``dtype`` gives each tensor's dtype: "F32" for the optimizer's)."""
    if not isinstance(header, dict):
        raise _Invalid(f"the header must be a JSON object, got {type(header).__name__}")
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict):
        raise _not_fastmlp(header, "the header has no __metadata__ object")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise _Invalid(f"metadata value {key!r} must be a string, got {type(value).__name__}")
    if metadata.get("format") != FORMAT_NAME:
        raise _not_fastmlp(header, f"metadata format is {metadata.get('format')!r}, not {FORMAT_NAME!r}")
    version = metadata.get("format_version")
    if version not in SUPPORTED_VERSIONS:
        hint = " (written by a newer fastmlp?)" if isinstance(version, str) and version.isdigit() else ""
        raise _Invalid(
            f"unsupported format_version {version!r}{hint}; this fastmlp reads {', '.join(SUPPORTED_VERSIONS)}"
        )
    try:  # strict, so that a corrupted key name (e.g. of the checksum) cannot go unnoticed
        check_keys("the metadata", metadata, _REQUIRED_METADATA, _OPTIONAL_METADATA)
        if "weights_crc32" in metadata:
            hex_word("weights_crc32", metadata["weights_crc32"], 8)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    config = _parse_json("the architecture metadata", metadata["architecture"])
    try:
        table = _architecture_tensors(config)
    except _Invalid as exc:
        raise _Invalid(f"invalid architecture: {exc}") from None
    expected = table.parameters + table.buffers
    training: Optional[Tuple[Any, Any, Dict[str, Any]]] = None
    if _checkpoint.KEY in metadata:
        try:
            training = _checkpoint.parse(_parse_json("the training metadata", metadata[_checkpoint.KEY]))
        except ValueError as exc:
            raise _Invalid(str(exc)) from None
        n_params = table.num_params
        expected = expected + [(_checkpoint.TENSOR_PREFIX + name, (n_params,))
                               for name in _checkpoint.state_names(training[1])]

    stored = sorted(k for k in header if k != "__metadata__")
    names = [name for name, _ in expected]
    if stored != sorted(names):
        missing = sorted(set(names) - set(stored))
        extra = sorted(set(stored) - set(names))
        parts = ([f"missing tensors {missing}"] if missing else []) + ([f"unexpected tensors {extra}"] if extra else [])
        raise _Invalid(f"its tensors do not match its architecture: {'; '.join(parts)}")

    offsets: Dict[str, Tuple[int, int]] = {}
    for name, shape in expected:
        entry = header[name]
        if not isinstance(entry, dict):
            raise _Invalid(f"tensor {name}: its header entry must be a JSON object")
        try:
            check_keys(f"tensor {name}", entry, ("dtype", "shape", "data_offsets"))
        except ValueError as exc:
            raise _Invalid(f"{exc} in its header entry") from None
        dtype = table.dtype(name)
        np_dtype, dtype_name = _DTYPES[dtype]
        if entry["dtype"] != dtype:
            raise _Invalid(f"tensor {name} has dtype {entry['dtype']!r}; fastmlp stores {dtype!r} ({dtype_name})")
        got = entry["shape"]
        if not isinstance(got, list) or not all(is_int(s) for s in got) or tuple(got) != shape:
            raise _Invalid(f"tensor {name} has shape {got!r}; the architecture needs {list(shape)}")
        span = entry["data_offsets"]
        if not isinstance(span, list) or len(span) != 2 or not all(is_int(v) for v in span):
            raise _Invalid(f"tensor {name}: data_offsets must be two integers [begin, end], got {span!r}")
        begin, end = span
        if begin < 0 or begin > end:
            raise _Invalid(f"tensor {name}: data_offsets {span} do not satisfy 0 <= begin <= end")
        if end > data_size:
            raise _Invalid(f"tensor {name}: data_offsets {span} run past the end of the data ({data_size} bytes)")
        if end - begin != np_dtype.itemsize * math.prod(shape):
            raise _Invalid(
                f"tensor {name}: data_offsets {span} span {end - begin} bytes; shape {list(shape)} in {dtype_name} "
                f"needs {np_dtype.itemsize * math.prod(shape)}"
            )
        offsets[name] = (begin, end)
    position = 0
    previous = None
    for name, (begin, end) in sorted(offsets.items(), key=lambda item: item[1]):
        if begin < position:
            raise _Invalid(f"tensor {name} overlaps tensor {previous} in the data")
        if begin > position:
            raise _Invalid(f"there are {begin - position} unused bytes in the data before tensor {name}")
        position, previous = end, name
    if position != data_size:
        raise _Invalid(f"the data has {data_size - position} trailing bytes after the last tensor")
    return config, offsets, expected, training, table


def load(path: PathLike) -> "Sequential":
    """Reads a model written by ``save`` (or any safetensors file with the same tensors and
    fastmlp metadata).

    The whole header is validated before the model is allocated: the metadata (format
    ``"fastmlp"``, a supported ``format_version``, a valid architecture with sane widths), exactly
    the tensors that architecture needs, each float32 with the right shape, and data offsets that
    tile the data area exactly (no overlap, gap, or trailing bytes, nothing past the end of the
    file). The weights are then read straight into the new model's parameters and, when the file
    records one (fastmlp always does), their CRC-32 is checked.

    A file whose weights or running statistics contain NaN or infinity is refused: it is the
    checkpoint of a diverged model, and ``save`` refuses to write one. So is a negative
    ``running_var`` or ``num_batches_tracked``.

    Raises:
        FileNotFoundError: `path` does not exist (and other OSErrors, e.g. PermissionError, from
            opening it).
        IsADirectoryError: `path` is a directory.
        ValueError: the file is not a valid fastmlp model (not a regular file, truncated,
            corrupted, hostile, non-finite weights, unsupported version); the message names
            `path` and what is wrong.
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    # O_NONBLOCK: opening a FIFO must not wait for a writer (it is rejected below).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "cannot load a model from a directory", path)
        raise ValueError(f"cannot load a fastmlp model from {path!r}: it is not a regular file")
    suffix = os.path.splitext(os.path.basename(path))[1].lower()
    return _read_model(os.fdopen(fd, "rb", buffering=0), st.st_size, repr(path), suffix)


def from_bytes(data: Union[bytes, bytearray, memoryview]) -> "Sequential":
    """The model in `data`, bytes of a file ``save`` or ``to_bytes`` wrote, checked as ``load``
    checks a file. Raises TypeError for anything but bytes, ValueError (naming what is wrong)
    for data that is not a valid fastmlp model."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    view = memoryview(data).cast("B")
    return _read_model(BytesIO(view), len(view), "bytes")


def _read_model(stream: BinaryIO, size: int, source: str, suffix: str = "") -> "Sequential":
    """Reads the `size` bytes of `stream` (positioned at 0, seekable, closed afterwards) as ``load``
    documents; `source` names them in the ValueError for invalid data, `suffix` is the file name's
    (lower case) for the message about a file that is not a safetensors file."""
    from .model import Sequential

    with stream as f:
        try:
            try:
                n, header = _read_container(f, size)
            except _Invalid as exc:  # not a safetensors file: say what it is, if it is something known
                raise _Invalid(_identify(f, size, suffix) or _with_suffix_hint(str(exc), suffix)) from None
            config, offsets, expected, training, table = _parse_header(header, size - 8 - n)

            model = Sequential.from_config(config)
            views = model.parameters() + model.buffers()
            optimizer_views = {name: np.empty(shape, np.float32) for name, shape in expected[len(views):]}
            views += list(optimizer_views.values())
            if [v.shape for v in views] != [shape for _, shape in expected] or not all(
                v.dtype == _DTYPES[table.dtype(name)][0] and v.flags.c_contiguous and v.flags.writeable
                for (name, _), v in zip(expected, views)
            ):  # the architecture check and the model disagree: a bug, not a bad file
                raise RuntimeError(f"fastmlp built parameters {[v.shape for v in views]} for tensors {expected}")
            architecture = header["__metadata__"]["architecture"]
            crc = zlib.crc32(architecture.encode("utf-8", "surrogatepass"))
            for (name, _), view in zip(expected, views):
                f.seek(8 + n + offsets[name][0])
                _readinto_exact(f, view, f"tensor {name}")
                crc = zlib.crc32(view.data, crc)
                if sys.byteorder != "little":
                    view.byteswap(inplace=True)
            expected_crc = header["__metadata__"].get("weights_crc32")
            if expected_crc is not None and f"{crc:08x}" != expected_crc:
                raise _Invalid(
                    f"its weights or architecture are corrupted: CRC-32 {crc:08x}, the file records {expected_crc}"
                )
            for (name, _), view in zip(expected, views):
                problem = _value_problem(name, view, table.dtype(name))
                if problem is not None:
                    raise _Invalid(f"tensor {name} {problem}")
            if training is not None:
                try:
                    _checkpoint.restore(model, training[0], training[1], training[2], optimizer_views)
                except ValueError as exc:
                    raise _Invalid(str(exc)) from None
        except _Invalid as exc:
            raise ValueError(f"cannot load a fastmlp model from {source}: {exc}") from None
    return model
