"""How ferbench's models differ from the ones the source documents trained: one line per architecture.

:data:`DEVIATIONS` is the single list: the README's "Models" section says the same in prose, and the
report's reproduced-vs-reported notes cite it next to a document's number, so a gap between the two is
read with the difference in view. Each line is checked against the architecture's module docstring.
"""

from __future__ import annotations

DEVIATIONS: dict[str, str] = {
    "emonet": "compact single-stack EmoNet trained from scratch at 48 px, without the face-alignment "
    "landmark heat-maps; the document fine-tuned the pretrained EmoNet (2-4 hourglass stacks) at 256 px",
    "ddamfn": "MFN trained from scratch (the DDAMFN code it follows starts from an MS-Celeb-1M-pretrained "
    "MFN); attention loss as the write-up states it, 0.1 / sum of pairwise MSEs, where that code uses "
    "pairs / sum (1/6 of its scale with 4 heads); MixConv channels split equally, not the code's uneven split",
    "vgg16": "an attention module after every conv stage (+0.08M parameters), where the document's +0.03M "
    "counts imply one after the last stage; BatchNorm after every conv by default (batch_norm=False is "
    "the document's network)",
    "vgg19": "as vgg16: attention after every conv stage and BatchNorm by default; the document's plain "
    "VGG-19 count (42.87M) contradicts its own VGG-19 + ECA row and is not reproduced (45.23M)",
    "efficientnet_b1": "trained from scratch; the document fine-tuned ImageNet-pretrained weights "
    "(--pretrained PATH loads a local timm checkpoint; nothing is downloaded)",
    "aer_cnn": "layers chosen from the document's description (it gives no layer table): spatial region "
    "attention after each of 3 stages, pooled stage outputs concatenated",
    "msff_cnn": "layers chosen from the document's description (it gives no layer table): parallel "
    "1x1/3x3/5x5 branches after each pooling, pooled and concatenated",
    "drf_msam": "layers chosen from the document's description (it gives no layer table): the dynamic "
    "receptive field is timm's SelectiveKernel, the multi-scale attention is hand-written",
}
