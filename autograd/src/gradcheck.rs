//! gradcheck
