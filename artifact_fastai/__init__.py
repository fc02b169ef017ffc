"""Detect visual artifacts in AI-generated images with fastai: data checks, face ROI, timm learners, GradCAM, ensembles and honest metrics.

Modules:

- `artifact_fastai.clip`: A frozen CLIP image encoder with a linear head trained through fastai (UnivFD), and zero-shot scoring from text prompts.
- `artifact_fastai.data`: Read labelled splits, find every problem in them at once, open any image safely, and build fastai dataloaders that oversample the rare Artifact class.
- `artifact_fastai.distributed`: Train one detector with several processes on PyTorch's own engine (`torch.distributed`) through fastai's `distrib_ctx`: GPUs take fastai's standard path, CPU processes (gloo) work without changing fastai for anyone else.
- `artifact_fastai.learner`: timm learners with focal loss and Artifact-class metrics, pretrained weights found offline, and model files that are safe to share (safetensors + JSON, no pickle)."""

__version__ = "0.1.0"
