//! The knowledge-transfer methods of the seed works.
