//! A PrestaShop Webservice sandbox (being built).
