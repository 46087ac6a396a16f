"""Model definitions for the edgebench zoo.

The five models of the latency matrix (MobileNet, MobileNetV2, ResNet50, EfficientNetB0,
DenseNet201) and Xception are re-implemented in PyTorch layer by layer after
tf.keras.applications (TF 2.x), NCHW instead of NHWC:

* Keras ``padding='valid'`` -> Conv/Pool with no padding.
* Keras ``padding='same'``, stride 1, odd kernel -> symmetric Conv padding k//2.
* Keras ``padding='same'``, stride 2 on an even input (TF pads one row/column more at the
  bottom/right) -> ``SameConv2d``: one ONNX Conv with asymmetric ``pads`` (as tf2onnx writes
  it); in TorchScript a pad + conv.
* Keras ``ZeroPadding2D`` layers -> ``nn.ZeroPad2d`` (an ONNX Pad node, as in the Keras graph).
* BatchNormalization keeps Keras' epsilon (1e-3 default, 1.001e-5 in ResNet/DenseNet).
* ``include_top=True``: Keras' head, softmax included.

Every model here works on a fixed input size, given at construction, so that no padding
is computed at trace time from tensor shapes.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

KERAS_BN_EPS = 1e-3


def bn(c, eps=KERAS_BN_EPS):
    return nn.BatchNorm2d(c, eps=eps)


def tf_same_pads(size, k, s):
    """TensorFlow 'SAME' padding (before, after) for one spatial dimension."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv_out(size, k, s, pad_total):
    return (size + pad_total - k) // s + 1


class _SameConvFn(torch.autograd.Function):
    """Conv with asymmetric zero padding; exported as ONE ONNX Conv with pads=[t, l, b, r]."""

    @staticmethod
    def forward(ctx, x, w, stride, pads, groups):
        return F.conv2d(F.pad(x, pads), w, None, stride, 0, 1, groups)

    @staticmethod
    def symbolic(g, x, w, stride, pads, groups):
        l, r, t, b = pads
        return g.op("Conv", x, w, kernel_shape_i=list(w.type().sizes()[2:]),
                    strides_i=[stride, stride], pads_i=[t, l, b, r], dilations_i=[1, 1],
                    group_i=groups)


class SameConv2d(nn.Conv2d):
    """Keras Conv2D(padding='same') with a stride, where TF pads one more row/column at the
    bottom/right than at the top/left. The ONNX export is a single Conv with asymmetric
    ``pads`` (as tf2onnx writes it); TorchScript gets pad + conv."""

    def __init__(self, cin, cout, k, s, pads, groups=1):
        super().__init__(cin, cout, k, s, 0, groups=groups, bias=False)
        self.same_pads = tuple(pads)  # F.pad order: left, right, top, bottom

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return _SameConvFn.apply(x, self.weight, self.stride[0], self.same_pads, self.groups)
        return F.conv2d(F.pad(x, self.same_pads), self.weight, None, self.stride, 0, 1,
                        self.groups)


def same_conv(cin, cout, k, s, size, groups=1):
    """Keras Conv2D/DepthwiseConv2D(padding='same', use_bias=False); -> (module, out size)."""
    b, a = tf_same_pads(size, k, s)
    out = conv_out(size, k, s, b + a)
    if b == a:
        return nn.Conv2d(cin, cout, k, s, b, groups=groups, bias=False), out
    return SameConv2d(cin, cout, k, s, (b, a, b, a), groups), out


def same_maxpool(k, s, size):
    """Keras MaxPooling2D(padding='same') with PyTorch's symmetric padding (+ ceil_mode for
    one extra trailing pad; max pooling ignores padded cells either way)."""
    b, a = tf_same_pads(size, k, s)
    out = conv_out(size, k, s, b + a)
    if b == a:
        m = nn.MaxPool2d(k, s, b)
    elif a == b + 1:
        m = nn.MaxPool2d(k, s, b, ceil_mode=True)
        assert math.ceil((size + 2 * b - k) / s) + 1 == out
    else:
        raise ValueError("unsupported padding")
    return m, out


class KerasDenseHead(nn.Module):
    """GlobalAveragePooling2D -> [Dropout] -> Dense(classes) -> softmax."""

    def __init__(self, cin, classes=1000, dropout=0.0):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = torch.flatten(self.pool(x), 1)
        return torch.softmax(self.fc(self.dropout(x)), dim=1)


# --------------------------------------------------------------------------- MobileNet v1
class KerasMobileNet(nn.Module):
    """tf.keras.applications.MobileNet(alpha=1.0, depth_multiplier=1, include_top=True)."""

    def __init__(self, alpha=1.0, classes=1000, size=224, dropout=1e-3):
        super().__init__()
        c = int(32 * alpha)
        conv1, size = same_conv(3, c, 3, 2, size)  # conv1: padding='same', strides 2
        layers = [conv1, bn(c), nn.ReLU6()]
        spec = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + \
               [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
        for f, s in spec:
            f = int(f * alpha)
            if s == 1:
                layers += [nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False)]
            else:  # ZeroPadding2D(((0, 1), (0, 1))) + DepthwiseConv2D(padding='valid')
                layers += [nn.ZeroPad2d((0, 1, 0, 1)),
                           nn.Conv2d(c, c, 3, s, 0, groups=c, bias=False)]
                size = conv_out(size, 3, s, 1)
            layers += [bn(c), nn.ReLU6(), nn.Conv2d(c, f, 1, bias=False), bn(f), nn.ReLU6()]
            c = f
        self.features = nn.Sequential(*layers)
        self.channels = c
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.conv_preds = nn.Conv2d(c, classes, 1, bias=True)
        self.classes = classes

    def forward(self, x):
        x = self.features(x)
        # GlobalAveragePooling2D -> Reshape((1, 1, C)) -> Dropout -> Conv2D 1x1 -> Reshape -> softmax
        x = torch.flatten(self.pool(x), 1)
        x = x.reshape(-1, self.channels, 1, 1)
        x = self.conv_preds(self.dropout(x))
        x = x.reshape(-1, self.classes)
        return torch.softmax(x, dim=1)


# --------------------------------------------------------------------------- MobileNet v2
def make_divisible(v, divisor=8, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class InvertedResidual(nn.Module):
    def __init__(self, cin, expansion, stride, filters, alpha, block_id, size):
        super().__init__()
        cout = make_divisible(int(filters * alpha), 8)
        layers = []
        c = cin
        if block_id:
            c = expansion * cin
            layers += [nn.Conv2d(cin, c, 1, bias=False), bn(c), nn.ReLU6()]
        if stride == 2:  # ZeroPadding2D(correct_pad) + DepthwiseConv2D(padding='valid')
            b, a = tf_same_pads(size, 3, 2)
            layers += [nn.ZeroPad2d((b, a, b, a)), nn.Conv2d(c, c, 3, 2, 0, groups=c, bias=False)]
            size = conv_out(size, 3, 2, b + a)
        else:
            layers += [nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False)]
        layers += [bn(c), nn.ReLU6(), nn.Conv2d(c, cout, 1, bias=False), bn(cout)]
        self.block = nn.Sequential(*layers)
        self.residual = cin == cout and stride == 1
        self.cout, self.size = cout, size

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class KerasMobileNetV2(nn.Module):
    """tf.keras.applications.MobileNetV2(alpha=1.0, include_top=True)."""

    def __init__(self, alpha=1.0, classes=1000, size=224):
        super().__init__()
        c = make_divisible(32 * alpha, 8)
        conv1, size = same_conv(3, c, 3, 2, size)  # Conv1: padding='same', strides 2
        layers = [conv1, bn(c), nn.ReLU6()]
        spec = [  # filters, stride, expansion
            (16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
            (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
            (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6)]
        for i, (f, s, e) in enumerate(spec):
            blk = InvertedResidual(c, e, s, f, alpha, i, size)
            layers.append(blk)
            c, size = blk.cout, blk.size
        last = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
        layers += [nn.Conv2d(c, last, 1, bias=False), bn(last), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.head = KerasDenseHead(last, classes)

    def forward(self, x):
        return self.head(self.features(x))


# --------------------------------------------------------------------------- ResNet50 v1
RESNET_BN_EPS = 1.001e-5


class KerasBottleneck(nn.Module):
    """keras.applications.resnet.block1 (stride on the first 1x1 conv, conv biases)."""

    def __init__(self, cin, filters, stride=1, conv_shortcut=True):
        super().__init__()
        e = RESNET_BN_EPS
        self.shortcut = nn.Sequential(nn.Conv2d(cin, 4 * filters, 1, stride), bn(4 * filters, e)) \
            if conv_shortcut else None
        self.body = nn.Sequential(
            nn.Conv2d(cin, filters, 1, stride), bn(filters, e), nn.ReLU(),
            nn.Conv2d(filters, filters, 3, 1, 1), bn(filters, e), nn.ReLU(),
            nn.Conv2d(filters, 4 * filters, 1), bn(4 * filters, e))
        self.relu = nn.ReLU()

    def forward(self, x):
        s = self.shortcut(x) if self.shortcut is not None else x
        return self.relu(s + self.body(x))


class KerasResNet50(nn.Module):
    """tf.keras.applications.ResNet50(include_top=True)."""

    def __init__(self, classes=1000, size=224):
        super().__init__()
        e = RESNET_BN_EPS
        layers = [nn.ZeroPad2d(3), nn.Conv2d(3, 64, 7, 2), bn(64, e), nn.ReLU(),
                  nn.ZeroPad2d(1), nn.MaxPool2d(3, 2)]
        c = 64
        for filters, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            layers.append(KerasBottleneck(c, filters, stride, True))
            c = 4 * filters
            layers += [KerasBottleneck(c, filters, 1, False) for _ in range(blocks - 1)]
        self.features = nn.Sequential(*layers)
        self.head = KerasDenseHead(c, classes)

    def forward(self, x):
        return self.head(self.features(x))


# --------------------------------------------------------------------------- EfficientNetB0
class KerasNormalization(nn.Module):
    """Rescaling(1/255) -> Normalization(axis=channels) as plain ops (Mul, Sub, Div).

    Keras keeps mean, variance and count as (non-trainable) weights: 7 for 3 channels; they
    are buffers here so that the Keras-style parameter count matches. ImageNet mean and
    variance (std^2) are used.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("variance",
                             torch.tensor([0.229, 0.224, 0.225]).pow(2).view(1, 3, 1, 1))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        x = x * (1.0 / 255.0)
        return (x - self.mean) / torch.sqrt(self.variance)


class SqueezeExcite(nn.Module):
    def __init__(self, c, cse):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(c, cse, 1)
        self.act = nn.SiLU()
        self.expand = nn.Conv2d(cse, c, 1)

    def forward(self, x):
        s = self.act(self.reduce(self.pool(x)))
        return x * torch.sigmoid(self.expand(s))


class MBConv(nn.Module):
    """keras.applications.efficientnet.block (drop-connect is training-only)."""

    def __init__(self, cin, cout, k, stride, expand, se_ratio, size):
        super().__init__()
        c = cin * expand
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, c, 1, bias=False), bn(c), nn.SiLU()]
        if stride == 2:  # ZeroPadding2D(correct_pad) + DepthwiseConv2D(padding='valid')
            b, a = tf_same_pads(size, k, 2)
            layers += [nn.ZeroPad2d((b, a, b, a)), nn.Conv2d(c, c, k, 2, 0, groups=c, bias=False)]
            size = conv_out(size, k, 2, b + a)
        else:
            layers += [nn.Conv2d(c, c, k, 1, k // 2, groups=c, bias=False)]
        layers += [bn(c), nn.SiLU()]
        if 0 < se_ratio <= 1:
            layers.append(SqueezeExcite(c, max(1, int(cin * se_ratio))))
        layers += [nn.Conv2d(c, cout, 1, bias=False), bn(cout)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.size = size

    def forward(self, x):
        y = self.block(x)
        return y + x if self.residual else y


class KerasEfficientNetB0(nn.Module):
    """tf.keras.applications.EfficientNetB0(include_top=True), Rescaling+Normalization stem
    included as plain ops (see KerasNormalization)."""

    BLOCKS = [  # kernel, repeats, in, out, expand, stride, se
        (3, 1, 32, 16, 1, 1, 0.25), (3, 2, 16, 24, 6, 2, 0.25), (5, 2, 24, 40, 6, 2, 0.25),
        (3, 3, 40, 80, 6, 2, 0.25), (5, 3, 80, 112, 6, 1, 0.25), (5, 4, 112, 192, 6, 2, 0.25),
        (3, 1, 192, 320, 6, 1, 0.25)]

    def __init__(self, classes=1000, size=224, dropout=0.2):
        super().__init__()
        b, a = tf_same_pads(size, 3, 2)
        layers = [KerasNormalization(), nn.ZeroPad2d((b, a, b, a)),
                  nn.Conv2d(3, 32, 3, 2, 0, bias=False), bn(32), nn.SiLU()]
        size = conv_out(size, 3, 2, b + a)
        for k, reps, cin, cout, e, s, se in self.BLOCKS:
            for i in range(reps):
                blk = MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e, se, size)
                layers.append(blk)
                size = blk.size
        layers += [nn.Conv2d(320, 1280, 1, bias=False), bn(1280), nn.SiLU()]
        self.features = nn.Sequential(*layers)
        self.head = KerasDenseHead(1280, classes, dropout)

    def forward(self, x):
        return self.head(self.features(x))


# --------------------------------------------------------------------------- DenseNet201
DENSENET_BN_EPS = 1.001e-5


class DenseLayer(nn.Module):
    def __init__(self, cin, growth=32):
        super().__init__()
        e = DENSENET_BN_EPS
        self.body = nn.Sequential(bn(cin, e), nn.ReLU(), nn.Conv2d(cin, 4 * growth, 1, bias=False),
                                  bn(4 * growth, e), nn.ReLU(),
                                  nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


class KerasDenseNet(nn.Module):
    """tf.keras.applications.DenseNet201 (blocks 6, 12, 48, 32) and relatives."""

    def __init__(self, blocks=(6, 12, 48, 32), classes=1000, size=224):
        super().__init__()
        e = DENSENET_BN_EPS
        layers = [nn.ZeroPad2d(3), nn.Conv2d(3, 64, 7, 2, bias=False), bn(64, e), nn.ReLU(),
                  nn.ZeroPad2d(1), nn.MaxPool2d(3, 2)]
        c = 64
        for i, n in enumerate(blocks):
            for _ in range(n):
                layers.append(DenseLayer(c))
                c += 32
            if i != len(blocks) - 1:  # transition_block(x, 0.5)
                layers += [bn(c, e), nn.ReLU(), nn.Conv2d(c, int(c * 0.5), 1, bias=False),
                           nn.AvgPool2d(2, 2)]
                c = int(c * 0.5)
        layers += [bn(c, e), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = KerasDenseHead(c, classes)

    def forward(self, x):
        return self.head(self.features(x))


# --------------------------------------------------------------------------- Xception
class SeparableConv(nn.Sequential):
    """Keras SeparableConv2D(3x3, padding='same', use_bias=False)."""

    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False),
                         nn.Conv2d(cin, cout, 1, bias=False))


class XceptionBlock(nn.Module):
    """Entry/exit-flow block: [ReLU] sep BN ReLU sep BN MaxPool(3, 2, same) + 1x1/2 shortcut."""

    def __init__(self, cin, c1, c2, size, first_relu=True):
        super().__init__()
        self.shortcut = nn.Sequential(nn.Conv2d(cin, c2, 1, 2, bias=False), bn(c2))
        pool, self.size = same_maxpool(3, 2, size)
        assert self.size == -(-size // 2)
        self.body = nn.Sequential(*([nn.ReLU()] if first_relu else []),
                                  SeparableConv(cin, c1), bn(c1), nn.ReLU(),
                                  SeparableConv(c1, c2), bn(c2), pool)

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class XceptionMiddle(nn.Module):
    def __init__(self, c=728):
        super().__init__()
        layers = []
        for _ in range(3):
            layers += [nn.ReLU(), SeparableConv(c, c), bn(c)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x) + x


class KerasXception(nn.Module):
    """tf.keras.applications.Xception(include_top=True), 299x299."""

    def __init__(self, classes=1000, size=299):
        super().__init__()
        layers = [nn.Conv2d(3, 32, 3, 2, bias=False), bn(32), nn.ReLU(),
                  nn.Conv2d(32, 64, 3, bias=False), bn(64), nn.ReLU()]
        size = conv_out(conv_out(size, 3, 2, 0), 3, 1, 0)
        c = 64
        for cout, first_relu in [(128, False), (256, True), (728, True)]:
            blk = XceptionBlock(c, cout, cout, size, first_relu)
            layers.append(blk)
            c, size = cout, blk.size
        layers += [XceptionMiddle(728) for _ in range(8)]
        blk = XceptionBlock(728, 728, 1024, size)
        layers += [blk, SeparableConv(1024, 1536), bn(1536), nn.ReLU(),
                   SeparableConv(1536, 2048), bn(2048), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = KerasDenseHead(2048, classes)

    def forward(self, x):
        return self.head(self.features(x))


# --------------------------------------------------------------------------- tiny test model
class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


# --------------------------------------------------------------------------- torchvision
def torchvision_model(name, **kw):
    import torchvision.models as tvm
    return getattr(tvm, name)(weights=None, **kw)
