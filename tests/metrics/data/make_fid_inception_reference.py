"""Record pytorch-fid's features for the deterministic weights and images of fid_reference_weights.py.

Needs torch and pytorch-fid (not dependencies of keras_gans; install them in a separate venv):

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch pytorch-fid
    /tmp/torchenv/bin/python tests/metrics/data/make_fid_inception_reference.py

Writes tests/metrics/data/fid_inception_reference.npz (features only; the images are
regenerated from the recipe), which test_fid_inception.py compares the
Keras port against.
"""
import importlib.util
from pathlib import Path

import numpy as np
import torch
from pytorch_fid import inception as fid_module

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("fid_reference_weights", HERE / "fid_reference_weights.py")
recipe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(recipe)


def random_state_dict(*args, **kwargs):
    # Stand-in for the download inside pytorch_fid.inception.fid_inception_v3: same names and
    # shapes as the real file, deterministic values.
    template = fid_module._inception_v3(num_classes=1008, aux_logits=False, weights=None).state_dict()
    return {name: torch.from_numpy(recipe.tensor_for(name, tensor.shape)) for name, tensor in template.items()}


fid_module.load_state_dict_from_url = random_state_dict
model = fid_module.InceptionV3([fid_module.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], use_fid_inception=True).eval()
result = {}
with torch.no_grad():
    for key, images in recipe.reference_images().items():
        batch = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
        features = model(batch)[0].squeeze(-1).squeeze(-1).numpy()
        result[f"features_{key}"] = features.astype(np.float32)
        print(key, images.shape, "->", features.shape, "mean", features.mean(), "std", features.std())
np.savez_compressed(HERE / "fid_inception_reference.npz", **result)
print("wrote", HERE / "fid_inception_reference.npz", f"(torch {torch.__version__})")
