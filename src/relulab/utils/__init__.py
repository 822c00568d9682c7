"""``relulab.utils``: PyTorch's ``torch.utils`` path (``relulab.utils.data``)."""
