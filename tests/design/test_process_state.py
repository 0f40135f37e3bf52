"""Importing glassnet or training with it changes no process-wide setting behind the user's back.

Each check runs in a fresh interpreter, so that nothing an earlier test did can hide a change: the BLAS
thread counts (threadpoolctl), the interpreter's switch interval and glibc's allocator settings must be the
same after ``import glassnet`` and after training steps (batches large enough for glassnet's parallel
regions) as before; inside glassnet's own work BLAS runs on one thread.
"""

import subprocess
import sys
import textwrap

import pytest

CHECK = textwrap.dedent(
    """
    import sys
    import numpy as np
    from threadpoolctl import threadpool_info

    def blas():
        return [(i["internal_api"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]

    before, interval = blas(), sys.getswitchinterval()
    import glassnet
    from glassnet import nn
    from glassnet.models import lenet5
    import glassnet.backend as B
    assert not B.malloc_tuned, "import glassnet tuned the allocator"
    assert blas() == before and sys.getswitchinterval() == interval, "import glassnet changed a setting"

    glassnet.set_num_threads(2)
    model, loss_fn = lenet5(), nn.CrossEntropyLoss()
    inside = []
    model.features[0].register_forward_hook(lambda m, a, y: inside.append(blas()))
    x = np.random.default_rng(0).random((256, 1, 28, 28), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 10, 256)
    for _ in range(2):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward(), input_grad=False)
    after = blas()
    assert after == before, (before, after)
    assert sys.getswitchinterval() == interval
    assert not B.malloc_tuned
    if before:  # BLAS found: glassnet ran its own work with one BLAS thread
        assert all(n == 1 for api, n in inside[0]), inside
    print("ok", before, inside[0])
    """
)


def test_import_and_training_steps_leave_the_process_settings_alone():
    pytest.importorskip("threadpoolctl")
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")


def test_tune_process_is_an_explicit_choice():
    code = textwrap.dedent(
        """
        import sys
        import glassnet, glassnet.backend as B
        interval = sys.getswitchinterval()
        applied = glassnet.tune_process()
        assert applied["switch_interval"] and B.malloc_tuned == applied["malloc"]
        assert sys.getswitchinterval() == interval  # changed only inside parallel regions
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
