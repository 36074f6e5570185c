# fault: calls the forbidden fused kernel
# expect: forbidden
import torch.nn.functional as F


def tiled_attention(q, k, v, causal=False, block_size=64):
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
