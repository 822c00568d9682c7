"""The PyTorch facade (issue 13): ``relulab.torch`` names, devices and seeds on a CPU-only machine, typed
constructors, the import hook behind ``relulab run-torch`` / ``python -m relulab.torch``, and the error that names
a missing API and the script line.  torch.load / torch.save are in tests/test_torch_facade_files.py."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import relulab
import relulab.torch as rt

ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def run_script(tmp_path, source, *args, via="cli"):
    script = tmp_path / "hw.py"
    script.write_text(textwrap.dedent(source))
    cmd = ([sys.executable, "-m", "relulab.cli", "run-torch", str(script), *args] if via == "cli"
           else [sys.executable, "-m", "relulab.torch", str(script), *args])
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=120)


# ---------------------------------------------------------------------------------------------- devices and seeds
def test_cuda_backends_and_accelerator_answer_none():
    assert rt.cuda.is_available() is False and rt.cuda.device_count() == 0
    assert rt.accelerator.is_available() is False and rt.accelerator.current_accelerator() is None
    assert rt.backends.mps.is_available() is False and rt.backends.cudnn.is_available() is False
    rt.backends.cudnn.deterministic = True
    rt.backends.cudnn.benchmark = False
    assert rt.backends.cudnn.deterministic is True and rt.backends.cudnn.benchmark is False
    with pytest.raises(RuntimeError, match="CPU only"):
        rt.cuda.current_device()


def test_cuda_seeding_leaves_the_cpu_stream_as_pytorch_does(torch):
    draws = []
    for lib in (torch, rt):
        lib.manual_seed(7)
        first = lib.randn(4).numpy()
        lib.cuda.manual_seed_all(7)  # no CUDA: PyTorch only queues it; the CPU stream goes on
        lib.cuda.manual_seed(8)
        draws.append((first, lib.randn(4).numpy()))
    np.testing.assert_array_equal(draws[0][0], draws[1][0])
    np.testing.assert_array_equal(draws[0][1], draws[1][1])
    assert not np.array_equal(draws[1][0], draws[1][1])  # the second draw did continue, not restart
    assert rt.cuda.initial_seed() == 8


def test_devices(torch):
    dev = rt.device("cuda" if rt.cuda.is_available() else "cpu")
    x = rt.zeros(2, 3).to(dev)
    assert x.device == dev and str(dev) == "cpu" and repr(dev) == repr(torch.device("cpu"))
    assert x.to(dev, rt.float64).dtype == rt.float64
    model = rt.nn.Linear(3, 1).to(dev)
    assert model(x).shape == (2, 1)
    with pytest.raises(RuntimeError, match="CPU only"):
        x.cuda()
    with pytest.raises(RuntimeError, match="'cuda' is not available"):
        model.to(rt.device("cuda"))


# ---------------------------------------------------------------------------------------------- constructors
def test_typed_constructors_match_torch(torch):
    for name in ("FloatTensor", "LongTensor", "DoubleTensor", "IntTensor", "BoolTensor"):
        for data in ([[1.7, 2.0], [0.0, -3.2]], np.array([1, 0, 2])):
            got, want = getattr(rt, name)(data), getattr(torch, name)(data)
            assert got.type() == want.type(), name
            np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert tuple(getattr(rt, name)(2, 3).shape) == (2, 3)
    assert rt.Tensor(2, 3).dtype == rt.float32 and tuple(rt.Tensor(rt.Size([4])).shape) == (4,)
    assert rt.Tensor([1, 2]).dtype == rt.float32 and tuple(rt.Tensor().shape) == (0,)
    with pytest.raises(TypeError, match="neither a size nor data"):
        rt.Tensor(2.5)


def test_isinstance_checks():
    x = relulab.zeros(2)
    assert isinstance(x, rt.Tensor) and isinstance(x, rt.FloatTensor) and not isinstance(x, rt.LongTensor)
    assert isinstance(x.long(), rt.LongTensor) and isinstance(rt.nn.Parameter(x), rt.Tensor)
    assert not isinstance(np.zeros(2), rt.Tensor) and issubclass(relulab.Tensor, rt.Tensor)
    assert rt.is_tensor(x) and isinstance(rt.float32, rt.dtype)


def test_torch_namespace_covers_course_code():
    for name in ("tensor", "from_numpy", "zeros", "empty", "cat", "stack", "no_grad", "manual_seed", "max", "argmax",
                 "sigmoid", "softmax", "topk", "sort", "cumsum", "inference_mode", "set_grad_enabled", "long",
                 "float", "Size", "device", "save", "load", "Generator", "randperm", "flatten", "squeeze"):
        assert hasattr(rt, name), name
    for path in ("nn.Linear", "nn.ReLU6", "nn.LayerNorm", "nn.functional.gelu", "nn.functional.nll_loss",
                 "nn.init.kaiming_normal_", "nn.utils.clip_grad_norm_", "optim.Adadelta", "optim.RAdam",
                 "optim.lr_scheduler.StepLR", "optim.lr_scheduler.CosineAnnealingWarmRestarts",
                 "utils.data.DataLoader", "utils.data.random_split", "autograd.grad", "autograd.functional.hessian"):
        obj = rt
        for part in path.split("."):
            obj = getattr(obj, part)
    assert rt.nn.Module is relulab.nn.Module and rt.optim.SGD is relulab.optim.SGD


def test_missing_api_names_itself_and_the_line():
    with pytest.raises(AttributeError, match=r"relulab does not implement torch\.fft \(test_torch_facade\.py:\d+\)"):
        rt.fft.rfft(rt.zeros(4))
    with pytest.raises(AttributeError, match=r"relulab does not implement torch\.nn\.TransformerEncoder"):
        rt.nn.TransformerEncoder
    assert not hasattr(rt.optim, "LBFGS")


def test_import_relulab_reaches_subpackages():
    code = ("import relulab, sys; relulab.utils.data.DataLoader; relulab.nn.Linear; relulab.optim.SGD; "
            "relulab.autograd.grad; relulab.analysis.hessian; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------- the import hook
COURSE_BITS = """
    import sys
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.backends.cudnn as cudnn
    from torch.utils.data import Dataset, DataLoader
    from torch.optim.lr_scheduler import StepLR

    def same_seed(seed):
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        np.random.seed(seed)
        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)

    same_seed(0)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    x = torch.FloatTensor(np.ones((4, 3))).to(device)
    y = torch.LongTensor([0, 1, 0, 1])
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU6()).to(device)
    loss = F.cross_entropy(model(x), y)
    print(f"loss {loss:.4f}", x.shape, torch.__name__, "real torch" if "site-packages" in torch.__file__ else "relulab",
          sys.argv[1:], cudnn.deterministic)
"""


@pytest.mark.parametrize("via", ["cli", "module"])
def test_run_torch_maps_torch_to_relulab(tmp_path, via):
    out = run_script(tmp_path, COURSE_BITS, "--epochs", "3", via=via)
    assert out.returncode == 0, out.stderr
    assert "torch.Size([4, 3])" in out.stdout and "relulab" in out.stdout
    assert "['--epochs', '3'] True" in out.stdout and "loss " in out.stdout


@pytest.mark.parametrize("line, api", [
    ("y = torch.fft.rfft(x)", "torch.fft"),
    ("import torch.fft", "torch.fft"),
    ("from torch import fft", "torch.fft"),
    ("from torch.nn import TransformerEncoder", "torch.nn.TransformerEncoder"),
    ("x.unfold(0, 2, 1)", "torch.Tensor.unfold"),
    ("torch.nn.Linear(2, 2).register_forward_hook(print)", "torch.nn.Linear.register_forward_hook"),
    ("import torchvision.models", "torchvision.models"),
])
def test_missing_api_error_names_the_api_and_script_line(tmp_path, line, api):
    out = run_script(tmp_path, f"import torch\nx = torch.zeros(4)\n{line}\n")
    assert out.returncode == 2
    assert out.stderr.strip() == f"relulab does not implement {api} (hw.py:3)"


def test_script_errors_keep_their_traceback_and_exit_codes(tmp_path):
    out = run_script(tmp_path, "import torch\nclass A: pass\nA().missing\n")
    assert out.returncode == 1 and "AttributeError: 'A' object has no attribute 'missing'" in out.stderr
    assert 'File "' in out.stderr and "hw.py" in out.stderr
    out = run_script(tmp_path, "import sys\nimport torch\nsys.exit(3)\n")
    assert out.returncode == 3
    out = subprocess.run([sys.executable, "-m", "relulab.cli", "run-torch", str(tmp_path / "nope.py")],
                         capture_output=True, text=True, env=ENV, timeout=60)
    assert out.returncode == 2 and "no script at" in out.stderr


def test_the_hook_is_undone_after_an_in_process_run(tmp_path):
    from relulab.torch.runner import run
    script = tmp_path / "s.py"
    script.write_text("import torch\nimport torch.nn\nassert torch.__name__ == 'relulab.torch'\n")
    before = sys.modules.get("torch")
    assert run(str(script)) == 0
    assert sys.modules.get("torch") is before
    assert not any(type(f).__name__ == "TorchAliasFinder" for f in sys.meta_path)
