"""``relulab.nn``: modules, layers, losses and initialisation, named as in ``torch.nn``."""
from . import functional, init, utils
from .layers import (Dropout, Dropout2d, Flatten, Hardsigmoid, Identity, LeakyReLU, Linear, LogSoftmax, ModuleList,
                     ReLU, Sequential, Sigmoid, Softmax, Softplus, Tanh)
from .activation import ELU, GELU, Hardtanh, PReLU, ReLU6, SiLU
from .norm import LayerNorm
from .conv import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d,
                   Unflatten)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .inspect import parameter_count, receptive_field
from .module import Module
from .parameter import Buffer, Parameter
