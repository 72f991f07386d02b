"""The video diffusion model behind ``generator/unet-diffusion`` (heavy: imports torch).

``unet`` (the factorized space-time U-Net and its 3D-conv variant), ``diffusion`` (noise process,
loss, samplers), ``checkpoint`` (safetensors + JSON IO, :class:`VideoDiffusionModel`) and
``train`` (the accelerate trainer).
"""
