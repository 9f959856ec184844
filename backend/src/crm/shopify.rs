//! The Shopify Admin GraphQL client and the OAuth helpers (integrations.md section 2). Every call
