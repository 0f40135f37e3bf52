"""Optimizers and learning-rate schedulers with PyTorch's update rules and names.

>>> import numpy as np
>>> from glassnet.nn import Parameter
>>> from glassnet.optim import SGD
>>> from glassnet.optim.lr_scheduler import StepLR
>>> p = Parameter(np.zeros(3))
>>> opt = SGD([p], lr=0.1, momentum=0.9)
>>> sched = StepLR(opt, step_size=2, gamma=0.5)
>>> for epoch in range(4):
...     p.grad = np.ones(3)
...     opt.step()
...     sched.step()
>>> sched.get_last_lr()
[0.025]
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
