//! Signatures: Shopify webhook and query HMACs, HS256 tokens (Shopify session tokens) and
