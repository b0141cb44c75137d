"""VGG's layers named as in the papers: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, …

Both the network (`features`) and the weight readers (`weights`) need these names, so they live
here, below both: imports flow one way.
"""
BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}  # convolutions per block
CHANNELS = (64, 128, 256, 512, 512)  # output channels of the convolutions of block 1 … 5


def layer_names(arch: str = "vgg19") -> list[str]:
    """Every layer of the network in order: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, …"""
    names = []
    for block, count in enumerate(BLOCKS[arch], start=1):
        for index in range(1, count + 1):
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
        names.append(f"pool{block}")
    return names


def conv_names(arch: str = "vgg19") -> list[str]:
    """The convolutions only, in order: the layers that carry weights."""
    return [name for name in layer_names(arch) if name.startswith("conv")]


def channels(layer: str) -> int:
    """Channel count N of a conv/relu layer from its name (relu3_1 → 256)."""
    return CHANNELS[int(layer[4]) - 1]
