"""Reading ``.npz`` files safely: sizes are checked from the zip's headers before anything is
unpacked, so a damaged file or one crafted to decompress to gigabytes (a zip bomb) is refused with
one line instead of being loaded.

An ``.npz`` is a zip of ``.npy`` members. Each member's header in the zip declares its unpacked
size (Python's zipfile never unpacks past it), and each ``.npy`` header declares the array's
shape and dtype (NumPy allocates that much before reading). Both are read here, checked against
each other and against :data:`MAX_NPZ_BYTES`, before ``np.load`` sees the file.
"""

from __future__ import annotations

import math
import tokenize
import zipfile
from pathlib import Path

import numpy as np

from .errors import InputError

#: Largest unpacked size of a run file gradscape will load (2 GiB; a run's trajectory is capped
#: at 20 million float32 numbers, 80 MB).
MAX_NPZ_BYTES = 2 * 1024**3


def check_npz(path: str | Path, *, cap: int | None = None, cap_name: str = "MAX_NPZ_BYTES") -> None:
    """Refuse ``path`` unless it is a readable ``.npz`` whose declared sizes fit ``cap`` bytes
    (default :data:`MAX_NPZ_BYTES`; ``cap_name`` is the name its message gives the cap).

    Raises:
        InputError: missing, empty, truncated or not a zip; a member that is not a plain
            ``.npy`` array; declared sizes over ``cap`` or that contradict each other.
    """
    cap = MAX_NPZ_BYTES if cap is None else cap
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p} does not exist.")
    if p.stat().st_size == 0:
        raise InputError(f"{p} is empty (a write that never finished?); it cannot be loaded.")
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if total > cap:
                raise InputError(
                    f"{p} declares {total / 2**30:.3g} GiB when unpacked, over the cap of "
                    f"{cap / 2**30:.3g} GiB ({cap_name}); gradscape did not write it."
                )
            for info in infos:
                _check_member(p, zf, info)
    except InputError:
        raise
    except zipfile.BadZipFile as exc:
        raise InputError(f"{p} is truncated or damaged ({exc}); it cannot be loaded.") from None
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"{p} cannot be read ({exc}); it is truncated or damaged.") from None
    except (SyntaxError, tokenize.TokenError):  # NumPy parses an .npy header as Python literals
        raise InputError(
            f"{p} cannot be read (an array's header is damaged); it is truncated or damaged."
        ) from None


def _check_member(p: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """One ``.npy`` member: plain compression, and an array no larger than the bytes it holds."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InputError(
            f"{p}: member {info.filename!r} uses a compression gradscape never writes."
        )
    if not info.filename.endswith(".npy"):
        raise InputError(f"{p}: member {info.filename!r} is not a NumPy array.")
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise InputError(f"{p}: member {info.filename!r} has .npy version {version}.")
    if dtype.hasobject:
        raise InputError(f"{p}: member {info.filename!r} holds Python objects, not numbers.")
    need = math.prod(shape) * dtype.itemsize
    if need > info.file_size:
        raise InputError(
            f"{p}: member {info.filename!r} declares {need:,} bytes of data in a member of "
            f"{info.file_size:,}; the file is damaged."
        )
