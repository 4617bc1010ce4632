"""The validation vocabulary: every check of an argument, a configuration or a file's JSON that
more than one place needs, with one message style, so that each public call validates and converts
its inputs once and the C++ core only ever sees C-contiguous float32 / int64 data of the right shape.

Conventions: a value of the wrong kind (a string for a number, a list for a mapping) raises
TypeError, a value of the right kind outside what is allowed raises ValueError; both name the
argument (``"{name} must be ..., got ..."``). Configuration and file readers put their context in
front with ``in_context`` or turn both into their own error.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
from typing import Any, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from . import _core

__all__ = [
    # errors
    "unknown_name_error",
    "did_you_mean",
    "not_an_instance_error",
    "in_context",
    # integers
    "is_int",
    "positive_int",
    "non_negative_int",
    "int_in",
    # real numbers
    "real_number",
    "number_in",
    "float32_number",
    "non_negative_float32",
    "positive_float32",
    # flags, choices, names, paths
    "check_bool",
    "one_of",
    "monitor_name",
    "monitor_mode",
    "check_path",
    "check_save_path",
    "FOREIGN_SUFFIXES",
    # configurations and JSON
    "check_mapping",
    "check_keys",
    "json_list",
    "hex_word",
    # sizes and arrays
    "check_model_size",
    "as_numeric_array",
    "as_features",
    "as_targets",
    "MAX_THREADS",
]

#: fm.set_num_threads refuses more: kernel threads beyond the cores only cost memory and time.
MAX_THREADS = 1024


# ------------------------------------------------------------------------------ errors
def did_you_mean(given: str, choices: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for the choice closest to `given` (difflib, case-insensitive on
    `given`), or "" when none is close."""
    close = difflib.get_close_matches(given.lower(), tuple(choices), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def unknown_name_error(kind: str, given: str, choices: Iterable[str], aliases: Iterable[str] = ()) -> ValueError:
    """ValueError listing `choices`, with a did-you-mean among them and `aliases` (other accepted
    spellings, not listed)."""
    choices = tuple(choices)
    hint = did_you_mean(given, (*choices, *aliases))
    return ValueError(f"unknown {kind} '{given}'; expected one of: {', '.join(choices)}.{hint}")


def not_an_instance_error(name: str, value: Any, expected: str) -> TypeError:
    """TypeError for a wrong kind of object; a class given where an instance is expected (a common
    slip: ``optimizer=fm.optim.Adam``) gets a hint to call it."""
    if isinstance(value, type):
        module = value.__module__
        public = "fm." + module.split(".", 1)[1] + "." if module.startswith("fastmlp.") else ""
        if public == "fm.layers.":
            public = "fm."
        return TypeError(
            f"{name} must be {expected}, got the class {value.__name__} itself: "
            f"create an instance, e.g. {public}{value.__name__}(...)"
        )
    return TypeError(f"{name} must be {expected}, got {type(value).__name__}")


def in_context(name: str, exc: Exception) -> Exception:
    """The TypeError (or else ValueError) `exc` with ``"{name}: "`` in front of its message: how a
    configuration reader names the configuration a constructor's error is about."""
    return (TypeError if isinstance(exc, TypeError) else ValueError)(f"{name}: {exc}")


# ------------------------------------------------------------------------------ integers
def is_int(value: Any) -> bool:
    """True for an integer (Python or NumPy), False for anything else, bool included."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def positive_int(name: str, value: Any, maximum: Optional[int] = None) -> int:
    """An integer >= 1 (and <= `maximum` when given) as int, else ValueError naming `name`."""
    if not is_int(value) or int(value) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if maximum is not None and int(value) > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return int(value)


def non_negative_int(name: str, value: Any, below: Optional[int] = None, below_text: str = "") -> int:
    """An integer >= 0 (and < `below` when given, shown as `below_text` such as "2**64") as int,
    else ValueError naming `name`."""
    if not is_int(value) or int(value) < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if below is not None and int(value) >= below:
        raise ValueError(f"{name} must be less than {below_text or below}, got {value!r}")
    return int(value)


def int_in(name: str, value: Any, low: int, high: int) -> int:
    """An integer in [low, high] as int, else ValueError naming `name` and the interval."""
    if not is_int(value) or not low <= int(value) <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------ real numbers
def real_number(name: str, value: Any) -> float:
    """A real number (not a bool, not a string) as float, else TypeError naming `name`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


def number_in(
    name: str, value: Any, low: float, high: float, low_open: bool = False, high_open: bool = False
) -> float:
    """A real number in the interval from `low` to `high` as float, each end closed unless
    ``*_open``; an end may be infinite (``math.inf``): ``[0, inf)`` is every finite number >= 0,
    ``(-inf, inf]`` would admit +inf. NaN is never inside. TypeError naming `name` for a
    non-number; ValueError naming it and the interval, e.g. ``rate must be in [0, 1), got 1.0``,
    for one outside."""
    number = real_number(name, value)
    above = number > low if low_open else number >= low
    below = number < high if high_open else number <= high
    if not (above and below):  # NaN compares false
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {number}")
    return number


def float32_number(name: str, value: Any) -> float:
    """A real number that stays finite in float32, the precision the C++ core computes with."""
    number = real_number(name, value)
    with np.errstate(over="ignore"):
        stored = float(np.float32(number))
    if not (math.isfinite(number) and math.isfinite(stored)):
        raise ValueError(f"{name} must be a finite number (within float32's range), got {number}")
    return number


def non_negative_float32(name: str, value: Any) -> float:
    """``float32_number`` that is >= 0."""
    number = float32_number(name, value)
    if not number >= 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {number}")
    return number


def positive_float32(name: str, value: Any) -> float:
    """``float32_number`` that is > 0, also once rounded to float32 (1e-50 is not)."""
    number = float32_number(name, value)
    if not number > 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {number}")
    if not np.float32(number) > 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {number}, which is 0 in float32")
    return number


# ------------------------------------------------------------------------------ flags, choices, names, paths
def check_bool(name: str, value: Any) -> bool:
    """True or False (Python or NumPy) as bool, else TypeError naming `name`."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def one_of(name: str, value: Any, choices: Sequence[str]) -> str:
    """`value` if it is one of the strings `choices`, else ValueError listing them:
    ``mode must be 'auto', 'min' or 'max', got 'best'``."""
    if not isinstance(value, str) or value not in choices:
        quoted = [repr(c) for c in choices]
        listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        raise ValueError(f"{name} must be {listed}, got {value!r}")
    return value


def monitor_name(value: Any) -> str:
    """The logged value a callback or schedule watches ("val_loss", "accuracy", ...)."""
    if not isinstance(value, str):
        raise TypeError(f"monitor must be a string such as 'val_loss', got {value!r}")
    return value


def monitor_mode(value: Any) -> str:
    """"min", "max" or "auto" (the direction of ``fastmlp._compiled_metrics.maximise``)."""
    return one_of("mode", value, ("auto", "min", "max"))


def check_path(name: str, value: Any) -> str:
    """A file path (str or os.PathLike; not bytes) as str, else TypeError naming `name`."""
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(value).__name__}")
    path = os.fspath(value)
    return path if isinstance(path, str) else os.fsdecode(path)


#: File suffixes of other model, array and text formats: (what the suffix names, how to get that
#: format from fastmlp, or ""). A writer refuses them (``check_save_path``), so that no file named
#: ``model.h5`` or ``model.pt`` holds safetensors bytes that Keras, PyTorch or the next person
#: cannot read; ``fm.load`` names them when it is given such a file.
_TORCH_ADVICE = "For PyTorch, torch.save(model.to_torch().state_dict(), path)."
_PICKLE_ADVICE = "To pickle the model, pickle.dump(model, file) works (a model pickles through the safetensors bytes)."
FOREIGN_SUFFIXES = {
    ".h5": ("Keras HDF5 files", ""),
    ".hdf5": ("HDF5 files (Keras)", ""),
    ".keras": ("Keras model archives", ""),
    ".pt": ("PyTorch files (torch.save)", _TORCH_ADVICE),
    ".pth": ("PyTorch files (torch.save)", _TORCH_ADVICE),
    ".pkl": ("pickle files", _PICKLE_ADVICE),
    ".pickle": ("pickle files", _PICKLE_ADVICE),
    ".joblib": ("joblib files", "joblib.dump(model, path) works too (a model pickles)."),
    ".npy": ("NumPy array files (np.save)", "For the arrays alone, np.savez(path, *model.parameters())."),
    ".npz": ("NumPy archives (np.savez)", "For the arrays alone, np.savez(path, *model.parameters())."),
    ".onnx": ("ONNX models", "For ONNX, fm.onnx.export(model, path)."),
    ".json": ("JSON text", "For the architecture alone, json.dump(model.get_config(), file)."),
    ".pb": ("TensorFlow protobuf files", ""),
    ".tflite": ("TensorFlow Lite models", ""),
    ".safetensors": ("safetensors files (model.save)", "For a safetensors file, model.save(path)."),
}
#: What each fastmlp writer writes, by its own suffix.
_WRITERS = {".safetensors": "model.save writes safetensors", ".onnx": "fm.onnx.export writes ONNX"}


def check_save_path(name: str, value: Any, suffix: str = ".safetensors") -> str:
    """A path to write a model file to (``check_path``), as str, unless its suffix (any case)
    names another format than the writer's own `suffix` (``".safetensors"`` for ``model.save``
    and ``ModelCheckpoint``, ``".onnx"`` for ``fm.onnx.export``): ``"model.h5"``, ``"model.pt"``,
    ``"model.pkl"``, ... raise ValueError saying what the suffix means, what fastmlp writes and
    what to do instead (see ``FOREIGN_SUFFIXES``). A name without a suffix or with one that names
    no other format (``"ckpt_001"``, ``"model.bin"``, ``"ckpt-{epoch}"``, ``"{val_loss:.3f}"``) is
    accepted as given."""
    path = check_path(name, value)
    ext = os.path.splitext(os.path.basename(path))[1]
    meaning = FOREIGN_SUFFIXES.get(ext.lower())
    if meaning is None or ext.lower() == suffix:
        return path
    what, advice = meaning
    fixed = path[: len(path) - len(ext)] + suffix
    raise ValueError(
        f"{name} {path!r} ends in {ext!r}, the suffix of {what}, but {_WRITERS[suffix]}: a file of that "
        f"name would mislead whoever opens it. Name it {fixed!r} instead"
        + (", which fm.load reads back." if suffix == ".safetensors" else ".")
        + (f" {advice}" if advice else "")
    )


# ------------------------------------------------------------------------------ configurations and JSON
def check_mapping(name: str, config: Any) -> Mapping[str, Any]:
    """`config` if it is a mapping (a configuration dictionary, a JSON object), else TypeError."""
    if not isinstance(config, Mapping):
        raise TypeError(f"{name} must be a JSON object, got {type(config).__name__}")
    return config


def check_keys(name: str, config: Any, required: Sequence[str], optional: Sequence[str] = ()) -> Mapping[str, Any]:
    """`config` as a mapping holding every `required` key and no key outside `required` and
    `optional`: TypeError naming `name` for a non-mapping, ValueError naming the missing keys
    (in `required`'s order) or the unknown ones (sorted)."""
    mapping = check_mapping(name, config)
    missing = [key for key in required if key not in mapping]
    if missing:
        raise ValueError(f"{name} lacks {', '.join(map(repr, missing))}")
    unknown = sorted(set(mapping) - set(required) - set(optional), key=str)
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}")
    return mapping


def json_list(name: str, value: Any, length: Optional[int] = None) -> List[Any]:
    """A parsed JSON array (list), of `length` items when given: TypeError naming `name` for
    anything but a list, ValueError for a list of another length."""
    if not isinstance(value, list) or (length is not None and len(value) != length):
        size = f" of {length} items" if length is not None else ""
        message = f"{name} must be a list (a JSON array){size}, got {value!r}"
        raise ValueError(message) if isinstance(value, list) else TypeError(message)
    return value


def hex_word(name: str, value: Any, digits: int) -> int:
    """An unsigned integer written as exactly `digits` lowercase hex digits, else ValueError."""
    if not isinstance(value, str) or len(value) != digits or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"{name} must be {digits} lowercase hex digits, got {value!r}")
    return int(value, 16)


# ------------------------------------------------------------------------------ sizes and arrays
def _physical_memory_bytes() -> Optional[int]:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not a POSIX system, or not reported
        return None


def check_model_size(input_dim: int, n_params: int, layers: Sequence[Any]) -> None:
    """MemoryError, before anything is allocated, when `n_params` parameters (a Python int, so no
    overflow: every layer kind's, counted from the layer schema) and their gradients (two float32
    blocks) cannot fit in this machine's physical memory or in a 64-bit size; the message shows
    `layers` (their repr). Without it an absurd layer either fails inside the C++ allocator or,
    worse, succeeds by overcommitting and then spends minutes zero-filling (and swapping) tens of GiB."""
    needed = 2 * 4 * n_params
    memory = _physical_memory_bytes()
    limit = min(memory, 2**62) if memory else 2**62
    if needed > limit:
        where = f"this machine's {memory / 2**30:.1f} GiB of memory" if memory and memory < 2**62 else "64-bit sizes"
        raise MemoryError(
            f"a model with input_dim={input_dim} and layers {list(layers)} has {n_params:,} "
            f"parameters: with their gradients {needed / 2**30:,.1f} GiB, more than {where}"
        )


def _encode_hint(role: str, name: str, how: str) -> str:
    """": {what to do}" with data that is not numbers, by what it is for (``as_numeric_array``'s
    `role`: "features" or "labels"; else ""), `how` naming the encoding ("category": the column's
    codes, "pandas": pd.factorize, "numpy": np.unique)."""
    if role == "features":
        codes = f", or take a category column's codes, {name}[column].cat.codes" if how == "category" else ""
        return f": encode it as numbers first, e.g. with pd.get_dummies({name}) or scikit-learn's OneHotEncoder{codes}"
    if role == "labels":
        encode = {
            "category": f"{name}.cat.codes (the classes are {name}.cat.categories)",
            "pandas": f"codes, classes = pd.factorize({name})",
            "numpy": f"classes, codes = np.unique({name}, return_inverse=True)",
        }[how]
        return (
            f": fm.Sequential needs integer class labels 0 to k-1, so encode them, e.g. {encode}, or use "
            "fastmlp.sklearn.MLPClassifier, which keeps the classes in classes_"
        )
    return ""


def as_numeric_array(name: str, value: Any, role: str = "") -> np.ndarray:
    """`value` as a NumPy array of a real (float, integer or bool) dtype, not yet converted; ValueError
    naming `name` for anything else (ragged lists, strings, objects, complex numbers).

    pandas objects (recognised by their type's module; pandas is never imported) are converted
    column by column, as scikit-learn's ``check_array`` does: NumPy numeric columns as they are,
    nullable ``Int*``/``UInt*``/``Float*``/``boolean`` columns without missing values to their NumPy
    dtype, ``category`` columns with numeric categories to their values. A missing value (``pd.NA``,
    a missing category) or a column of strings, dates, Python objects (as a NumPy object array
    is refused), ... raises ValueError naming the column (``X column 'age'``) and its dtype;
    `role` ("features" or "labels") chooses the advice on encoding strings."""
    converted = _from_pandas(name, value, role)
    if converted is not None:
        return converted
    try:
        arr = np.asarray(value)
    except Exception as exc:  # e.g. ragged nested lists
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        example = ""
        if arr.dtype.kind in "USO" and arr.size:
            first = arr.flat[0]
            if isinstance(first, (str, bytes)):
                shown = str(first) if isinstance(first, str) else bytes(first)  # not NumPy 2's np.str_('a')
                example = f" (e.g. {shown!r})" + _encode_hint(role, name, "numpy")
        raise ValueError(f"{name} must hold real numbers (float or integer dtype), got dtype {arr.dtype}{example}")
    return arr


def _is_pandas(value: Any) -> bool:
    return type(value).__module__.split(".", 1)[0] == "pandas"


def _numpy_numeric(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf"


def _from_pandas(name: str, value: Any, role: str) -> Optional[np.ndarray]:
    """A pandas DataFrame, Series or array as a NumPy array of a real dtype (see
    ``as_numeric_array``), or None for anything else and for pandas objects of NumPy numeric dtypes
    only, which ``np.asarray`` converts as they are."""
    if not _is_pandas(value):
        return None
    if hasattr(value, "columns") and hasattr(value, "dtypes") and hasattr(value, "iloc"):  # a DataFrame
        dtypes = set(value.dtypes)
        if value.shape[1] == 0 or (len(dtypes) == 1 and all(_numpy_numeric(d) for d in dtypes)):
            return None  # one NumPy numeric dtype: np.asarray converts it as it is (pandas makes bool + int object)
        columns = [
            _pandas_column(f"{name} column {column!r}", value.iloc[:, j], name, role)
            for j, column in enumerate(value.columns)
        ]
        return np.stack(columns, axis=1)  # NumPy's type promotion: bool and int columns with float ones -> float
    if hasattr(value, "dtype") and hasattr(value, "isna") and getattr(value, "ndim", 1) == 1:  # Series, arrays
        if _numpy_numeric(value.dtype):
            return None
        label = getattr(value, "name", None)
        return _pandas_column(name if label is None else f"{name} (Series {label!r})", value, name, role)
    return None


def _first_value(column: Any) -> str:
    """" (e.g. {the first non-missing value!r})", or "" when there is none."""
    values = np.asarray(column, dtype=object)
    missing = np.asarray(column.isna(), dtype=bool)
    present = values[~missing]
    if not present.size:
        return ""
    first = present[0].item() if isinstance(present[0], np.generic) else present[0]  # 1.5, not np.float64(1.5)
    return f" (e.g. {first!r})"


def _pandas_column(what: str, column: Any, name: str, role: str) -> np.ndarray:
    """One pandas column (Series or array) as a 1-D NumPy array of a real dtype; `what` names it."""
    dtype = column.dtype
    if _numpy_numeric(dtype):
        return np.asarray(column)
    categories = getattr(dtype, "categories", None)
    missing = int(np.asarray(column.isna(), dtype=bool).sum())
    if missing:
        raise ValueError(
            f"{what} (dtype {dtype}) holds {missing} missing value{'s' if missing > 1 else ''} (NaN or pd.NA): fastmlp "
            "needs a number in every cell; fill them (fillna) or drop those rows (dropna) first"
        )
    if categories is not None:  # category: numeric categories stand for their values (as np.asarray gives them)
        values = np.asarray(categories)
        if values.dtype.kind in "biuf":
            codes = np.asarray(getattr(column, "cat", column).codes)
            result: np.ndarray = values[codes]
            return result
        raise ValueError(
            f"{what} has dtype category with categories of dtype {getattr(categories, 'dtype', values.dtype)}"
            f"{_first_value(column)}, not numbers"
            + _encode_hint(role, name, "category")
        )
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    if isinstance(numpy_dtype, np.dtype) and numpy_dtype.kind in "biuf":  # nullable Int64, Float64, boolean, ...
        return np.asarray(column.to_numpy(dtype=numpy_dtype))
    arr = np.asarray(column)
    if arr.dtype.kind in "biuf":  # e.g. a sparse column
        return arr
    # Not converted, as a NumPy array of objects is not: an object column of numbers is named too.
    textual = arr.dtype.kind in "SU" or type(dtype).__name__ == "StringDtype" or (
        arr.dtype.kind == "O" and any(isinstance(v, (str, bytes)) for v in arr)
    )
    if textual:
        hint = _encode_hint(role, name, "pandas")
    elif arr.dtype.kind == "O":
        hint = ": convert it to numbers first, e.g. with pd.to_numeric or .astype(float)"
    else:
        hint = ": convert it to numbers first"
    raise ValueError(f"{what} has dtype {dtype}{_first_value(column)}, not numbers (float, integer or bool){hint}")


def _as_float32_c(arr: np.ndarray) -> np.ndarray:
    """C-contiguous float32, copying only when needed. Values too large for float32 become inf
    (reported by the caller's finiteness check) instead of raising a RuntimeWarning."""
    if arr.dtype == np.float32 and arr.flags.c_contiguous:
        return arr  # the common case, kept cheap: train_step is called once per batch
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(arr, dtype=np.float32)


def as_features(X: Any, n_features: Optional[int], name: str = "X") -> np.ndarray:
    """Returns X as a C-contiguous float32 (n_samples, n_features) array without copying when it
    already is one. Raises ValueError naming `name` for a wrong shape, an empty array, a wrong
    feature count or non-finite values (for a pandas DataFrame the message names the columns).
    pandas input is converted as ``as_numeric_array`` describes."""
    arr = as_numeric_array(name, X, "features")
    if arr.ndim != 2:
        hint = " (for one sample use x.reshape(1, -1))" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), got shape {arr.shape}{hint}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it must have at least one sample (row)")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has zero features (columns)")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features (columns) but the model expects {n_features}")
    arr = _as_float32_c(arr)
    if not _core.all_finite(arr):
        raise ValueError(
            f"{name} contains NaN or infinite values, or values too large for float32{_not_finite_columns(X, arr)}"
        )
    return arr


def _not_finite_columns(X: Any, arr: np.ndarray) -> str:
    """" in column 'a' (3 values), ..." for a pandas DataFrame `X` converted to `arr`, else ""."""
    columns = getattr(X, "columns", None)
    if not _is_pandas(X) or columns is None or len(columns) != arr.shape[1]:
        return ""
    counts = (~np.isfinite(arr)).sum(axis=0)
    bad = [f"{c!r} ({int(count)} value{'s' if count > 1 else ''})" for c, count in zip(columns, counts) if count]
    return f", in column{'s' if len(bad) > 1 else ''} {', '.join(bad)}" if bad else ""


def _one_hot_width(arr: np.ndarray) -> Optional[int]:
    """k when `arr` is (n, k), k >= 2, of 0s and 1s with one 1 per row (one-hot labels), else None."""
    if arr.ndim != 2 or arr.shape[1] < 2 or arr.shape[0] == 0 or arr.dtype.kind not in "biuf":
        return None
    ones = arr == 1
    if not (ones | (arr == 0)).all() or not (ones.sum(axis=1) == 1).all():
        return None
    return int(arr.shape[1])


def _first(mask: np.ndarray, arr: np.ndarray) -> str:
    """"{value} in row {i}" for the first True of `mask` (a 1-D array of labels)."""
    i = int(np.flatnonzero(mask)[0])
    value = arr[i]
    shown = int(value) if arr.dtype.kind in "biu" or float(value).is_integer() else float(value)
    return f"{shown!r} in row {i}"


def _outputs(n: int) -> str:
    return f"{n} output{'s' if n != 1 else ''}"


#: Above this, "max(label) + 1 units" is no advice: the labels are not class indices at all.
_MAX_SUGGESTED_UNITS = 100_000


def _class_labels(arr: np.ndarray, n_samples: int, n_outputs: int, name: str) -> np.ndarray:
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]  # a column of labels, as Keras's sparse_categorical_crossentropy and scikit-learn take it
    if arr.ndim != 1:
        # (n, outputs) probability rows never get here: losses.CrossEntropy routes them
        message = (
            f"{name} must be integer class labels of shape ({n_samples},) or probability rows of shape "
            f"({n_samples}, {n_outputs}) for cross_entropy, got shape {arr.shape}"
        )
        k = _one_hot_width(arr)
        if k is not None:
            message += (
                f": it looks one-hot ({k} classes) but the model has {_outputs(n_outputs)}. Give the class labels, "
                f"{name}.argmax(axis=1), or make the last Dense layer Dense({k}), one unit per class"
            )
        raise ValueError(message)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        fraction = arr != np.round(arr)
        if fraction.any():
            message = (
                f"{name} must hold integer class labels for cross_entropy, got non-integer floats "
                f"({_first(fraction, arr)})"
            )
            if float(arr.min()) >= 0.0 and float(arr.max()) <= 1.0:
                message += (
                    f". For probability targets give rows of shape ({n_samples}, {n_outputs}) summing to 1; for one "
                    "probability per sample use loss='binary_cross_entropy' with Dense(1)"
                )
            raise ValueError(message)
    # The range is checked in the given dtype, before the int64 conversion (which would wrap a
    # large uint64 and turn a float beyond int64 into garbage with a RuntimeWarning).
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi >= n_outputs:
        above, below = arr >= n_outputs, arr < 0
        found = []
        if above.any():
            count = int(above.sum())
            found.append(f"{count} label{'s are' if count > 1 else ' is'} >= {n_outputs} (e.g. {_first(above, arr)})")
        if below.any():
            count = int(below.sum())
            found.append(f"{count} label{'s are' if count > 1 else ' is'} negative (e.g. {_first(below, arr)})")
        message = (
            f"{name} labels must be in [0, {n_outputs}) for a model with {_outputs(n_outputs)}, got values in "
            f"[{int(lo)}, {int(hi)}]: {' and '.join(found)}."
        )
        if lo >= 1 and hi == n_outputs:
            message += (
                f" The labels look 1-based (1 to {n_outputs}): class labels count from 0, so give {name} - 1 "
                f"(or make the last Dense layer Dense({n_outputs + 1}))."
            )
        elif hi >= n_outputs and hi < _MAX_SUGGESTED_UNITS:
            message += (
                f" The last Dense layer needs one unit per class, max(label) + 1 = {int(hi) + 1} units "
                f"(Dense({int(hi) + 1})); or, for {n_outputs} classes, labels from 0 to {n_outputs - 1}."
            )
        if lo < 0:
            message += " Class labels count from 0; there is no ignore_index: drop the rows with negative labels."
        raise ValueError(message)
    return np.ascontiguousarray(arr, dtype=np.int64)


def as_targets(
    y: Any, classification: bool, n_samples: int, n_outputs: int, name: str = "y", x_name: str = "X",
    loss: str = "",
) -> np.ndarray:
    """Class labels -> C-contiguous int64 (n,) in [0, n_outputs) (a column (n, 1) is taken as
    labels); regression targets -> C-contiguous float32 (n, n_outputs) (a 1-D y is accepted when
    the model has one output). `x_name` names the features array in the message for a sample-count
    mismatch; `loss` (the loss's name) lets a shape message say what to change."""
    arr = as_numeric_array(name, y, "labels" if classification or loss == "binary_cross_entropy" else "")
    if arr.ndim == 0 or arr.shape[0] != n_samples:
        got = "a scalar" if arr.ndim == 0 else f"{arr.shape[0]} rows"
        raise ValueError(f"{name} has {got} but {x_name} has {n_samples} samples: they must match")
    if classification:
        return _class_labels(arr, n_samples, n_outputs, name)
    if arr.ndim == 1 and n_outputs == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_outputs:
        raise ValueError(
            f"{name} must have shape ({n_samples}, {n_outputs}) to match the model's outputs, got {arr.shape}"
            + _target_shape_hint(arr, n_outputs, name, loss)
        )
    values = _as_float32_c(arr)
    if not _core.all_finite(values):
        raise ValueError(f"{name} contains NaN or infinite values, or values too large for float32")
    return values


def _target_shape_hint(arr: np.ndarray, n_outputs: int, name: str, loss: str) -> str:
    """What to change when targets of shape arr.shape do not fit a model with n_outputs outputs."""
    units = f"the model has {_outputs(n_outputs)} (the last Dense layer's units)"
    k = _one_hot_width(arr)
    if k is not None and loss == "binary_cross_entropy" and n_outputs == 1 and k == 2:
        return f": it looks one-hot (2 classes); with one output give the 0/1 labels, {name}.argmax(axis=1)"
    if k is not None:
        return (
            f": it looks one-hot ({k} classes) but {units}; make the last Dense layer Dense({k}), or, for class "
            f"labels, use loss='cross_entropy' with {name}.argmax(axis=1)"
        )
    if arr.ndim == 1:
        hint = f": a 1-D {name} holds one target per sample, but {units}"
        is_labels = arr.dtype.kind in "biu" or (
            arr.dtype.kind == "f" and bool(np.isfinite(arr).all()) and bool((arr == np.round(arr)).all())
        )
        if loss == "binary_cross_entropy" and is_labels and arr.size and 0 <= arr.min() and arr.max() < n_outputs:
            return (
                f"{hint}. For one 0/1 target per sample use Dense(1); for integer class labels use "
                f"loss='cross_entropy' with Dense({n_outputs}) (one unit per class)"
            )
        return f"{hint}: give one column per output, or use Dense(1) for one target"
    if arr.ndim == 2:
        return f": {name} has {arr.shape[1]} columns but {units}"
    return ""
