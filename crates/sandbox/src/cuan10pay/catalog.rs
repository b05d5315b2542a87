//! The three product catalogues. The document (`seeds/000_b443c682d4d25840.txt`) shows neither
//! their answers nor their items: **Decision**, a handful of plausible items with the obvious fields
//! (code or id, name, the filter field, price), including the codes the document's own order
//! examples use (`PULSA_50K`, service `123`, `ML_86_DIAMOND`) so that those examples work as written.

use serde::Serialize;

/// A PPOB (phone credit, data package) product.
#[derive(Debug, Serialize)]
pub(super) struct PpobProduct {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) operator: &'static str,
    pub(super) category: &'static str,
    pub(super) price: u64,
    pub(super) status: &'static str,
}

const fn ppob(
    code: &'static str,
    name: &'static str,
    operator: &'static str,
    category: &'static str,
    price: u64,
) -> PpobProduct {
    PpobProduct { code, name, operator, category, price, status: "available" }
}

pub(super) const PPOB_PRODUCTS: &[PpobProduct] = &[
    ppob("PULSA_10K", "Telkomsel Pulsa 10.000", "telkomsel", "pulsa", 10_850),
    ppob("PULSA_50K", "Telkomsel Pulsa 50.000", "telkomsel", "pulsa", 49_900),
    ppob("TSEL_DATA_5GB", "Telkomsel Data 5 GB / 30 hari", "telkomsel", "data", 52_000),
    ppob("XL_PULSA_25K", "XL Pulsa 25.000", "xl", "pulsa", 25_150),
    ppob("XL_DATA_10GB", "XL Xtra Combo 10 GB / 30 hari", "xl", "data", 64_000),
    ppob("ISAT_PULSA_20K", "Indosat Pulsa 20.000", "indosat", "pulsa", 20_300),
    ppob("ISAT_DATA_3GB", "Indosat Freedom Internet 3 GB / 30 hari", "indosat", "data", 26_500),
];

/// An SMM (social-media marketing) service, priced per thousand.
#[derive(Debug, Serialize)]
pub(super) struct SmmService {
    pub(super) id: u64,
    pub(super) name: &'static str,
    pub(super) category: &'static str,
    /// Price of 1 000 units, in rupiah.
    pub(super) rate: u64,
    pub(super) min: u64,
    pub(super) max: u64,
}

const fn smm(id: u64, name: &'static str, category: &'static str, rate: u64, min: u64, max: u64) -> SmmService {
    SmmService { id, name, category, rate, min, max }
}

pub(super) const SMM_SERVICES: &[SmmService] = &[
    smm(123, "Instagram Followers [Real, No Refill]", "instagram", 25_000, 100, 10_000),
    smm(124, "Instagram Likes [Instant]", "instagram", 8_000, 50, 20_000),
    smm(125, "Instagram Reel Views", "instagram", 2_000, 100, 100_000),
    smm(201, "TikTok Followers", "tiktok", 30_000, 100, 10_000),
    smm(202, "TikTok Likes", "tiktok", 9_000, 50, 50_000),
    smm(203, "TikTok Views", "tiktok", 1_500, 100, 1_000_000),
];

/// A game voucher (top-up).
#[derive(Debug, Serialize)]
pub(super) struct VoucherProduct {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) game: &'static str,
    pub(super) price: u64,
    /// **Decision**: Mobile Legends accounts are addressed by player *and* zone, so its orders
    /// need `server_id` ("Server/Zone ID (if applicable)" in the document); the others do not.
    pub(super) server_id_required: bool,
}

const fn voucher(code: &'static str, name: &'static str, game: &'static str, price: u64) -> VoucherProduct {
    VoucherProduct { code, name, game, price, server_id_required: matches!(game.as_bytes(), b"ml") }
}

pub(super) const VOUCHER_PRODUCTS: &[VoucherProduct] = &[
    voucher("ML_86_DIAMOND", "Mobile Legends 86 Diamonds", "ml", 24_000),
    voucher("ML_172_DIAMOND", "Mobile Legends 172 Diamonds", "ml", 47_500),
    voucher("FF_70_DIAMOND", "Free Fire 70 Diamonds", "ff", 10_000),
    voucher("FF_140_DIAMOND", "Free Fire 140 Diamonds", "ff", 19_500),
    voucher("PUBG_60_UC", "PUBG Mobile 60 UC", "pubg", 15_000),
    voucher("PUBG_325_UC", "PUBG Mobile 325 UC", "pubg", 75_000),
];

/// Whether a catalogue item passes an optional filter (matched without regard to case, as a
/// merchant typing `Telkomsel` means `telkomsel`).
pub(super) fn matches_filter(value: &str, filter: Option<&str>) -> bool {
    filter.map(str::trim).filter(|f| !f.is_empty()).is_none_or(|f| value.eq_ignore_ascii_case(f))
}
