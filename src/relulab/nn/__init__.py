"""``relulab.nn``: modules, layers, losses and initialisation, named as in ``torch.nn``."""
from . import functional, init, utils
from .layers import (Dropout, Flatten, Hardsigmoid, Identity, LeakyReLU, Linear, LogSoftmax, ModuleList, ReLU,
                     Sequential, Sigmoid, Softmax, Softplus, Tanh)
from .conv import AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d, Unflatten
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .inspect import parameter_count, receptive_field
from .module import Module
from .parameter import Buffer, Parameter
