"""The user's own PyTorch file of ``gradscape landscape --torch FILE.py`` (and ``spectrum``).

The file is ordinary Python, run with :func:`runpy.run_path` (so it runs with the user's
rights, like ``python FILE.py``, but with ``__name__`` not ``"__main__"``). It defines:

* ``model()``: a ``torch.nn.Module`` holding the trained weights;
* ``data()``: an ``(inputs, targets)`` pair of tensors or a ``DataLoader``;
* ``loss()`` (optional): a function ``loss(outputs, targets)`` returning the batch's mean
  (default: cross-entropy);
* ``trajectory()`` (optional, for ``--directions pca``): the saved weights along training, a
  list of state_dicts or models.

Every missing or wrong definition, and every exception raised inside the user's code, is one
line naming the file and the function.
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GradscapeError, InputError


@dataclass(frozen=True)
class TorchFile:
    """What the user's file defines, already called."""

    path: Path
    model: Any
    data: Any
    loss: Any
    namespace: dict[str, Any]

    def trajectory(self) -> list[Any]:
        """``trajectory()``'s saved weights (for ``--directions pca``)."""
        out = _call(self.path, self.namespace, "trajectory",
                    "define trajectory() returning the saved state_dicts to use --directions pca")  # fmt: skip
        if isinstance(out, str | bytes) or not hasattr(out, "__len__"):
            raise InputError(
                f"{self.path}: trajectory() must return a list of state_dicts or models; got "
                f"{type(out).__name__}."
            )
        return list(out)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__


def _call(path: Path, namespace: dict[str, Any], name: str, how: str) -> Any:
    fn = namespace.get(name)
    if fn is None:
        raise InputError(f"{path} defines no {name}() function: {how}.")
    if not callable(fn) or hasattr(fn, "named_parameters"):  # a module made at import: no
        raise InputError(f"{path}: {name} is a {type(fn).__name__}, not a function: {how}.")
    try:
        return fn()
    except GradscapeError:
        raise
    except Exception as e:
        raise InputError(f"{path}: {name}() raised {_one_line(e)}") from None


def _run(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"--torch: no such file {str(path)!r}; give your Python file.")
    try:
        return runpy.run_path(str(path), run_name="__gradscape_torch__")
    except SystemExit as e:
        raise InputError(
            f"{path} called exit({e.code!r}) while it ran as Python; define model() and data() "
            "without exiting (put the script part under if __name__ == '__main__':)."
        ) from None
    except Exception as e:
        raise InputError(f"{path} raised {_one_line(e)} while it ran as Python") from None


def load_torch_file(file: str | Path) -> TorchFile:
    """Run the user's file and call its ``model()``, ``data()`` and ``loss()``."""
    path = Path(file)
    from ..torch import _torch

    torch = _torch()
    ns = _run(path)
    model = _call(
        path, ns, "model", "define model() returning your torch.nn.Module with its weights"
    )
    if not isinstance(model, torch.nn.Module):
        raise InputError(
            f"{path}: model() must return a torch.nn.Module; it returned {type(model).__name__}."
        )
    data = _call(
        path, ns, "data", "define data() returning (inputs, targets) tensors or a DataLoader"
    )
    pair = isinstance(data, tuple | list) and len(data) == 2
    if not (pair or isinstance(data, torch.utils.data.DataLoader)):
        raise InputError(
            f"{path}: data() must return an (inputs, targets) pair of tensors or a DataLoader; "
            f"it returned {type(data).__name__}."
        )
    loss = None
    if "loss" in ns:
        loss = _call(path, ns, "loss", "define loss() returning loss(outputs, targets)")
        if not callable(loss):
            raise InputError(
                f"{path}: loss() must return a function loss(outputs, targets); it returned "
                f"{type(loss).__name__}."
            )
    return TorchFile(path, model, data, loss, ns)


def load_other(file: str | Path) -> Any:
    """The other end of ``--between`` with ``--torch``: another user file (its ``model()``) or a
    saved state_dict (``torch.save``; read with ``weights_only=True``, which runs no code)."""
    path = Path(file)
    if path.suffix == ".py":
        return load_torch_file(path).model
    from ..torch import _torch

    torch = _torch()
    if not path.is_file():
        raise InputError(f"--between: no such file {str(path)!r}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise InputError(f"--between: {path} is not a saved state_dict ({_one_line(e)})") from None
    if not isinstance(state, dict):
        raise InputError(
            f"--between: {path} holds a {type(state).__name__}, not a state_dict; save one with "
            "torch.save(model.state_dict(), PATH), or give another Python file."
        )
    return state
