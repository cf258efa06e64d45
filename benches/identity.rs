//! Codice fiscale parse + validate throughput (typed input with spaces, and omocodes).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sportello::identity::{CodiceFiscale, parse_health_card_scan};
use std::hint::black_box;

const CODES: [&str; 8] = [
    "RSSMRA45C12F205C",
    "rssmra 45c12 f205c",
    "MRSMSR81D60Z611H",
    "RSSMRAQRCMNFNLRG",
    "CCCFBAURDLPLNMVU",
    "MRTNTN23M02D969P",
    "RSSMRA45C12F205D", // invalid: check letter
    "CNTCHR83T32D969H", // invalid: day 32
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("codice_fiscale");
    group.throughput(Throughput::Elements(CODES.len() as u64));
    group.bench_function("parse_validate", |b| {
        b.iter(|| {
            for code in CODES {
                let _ = black_box(black_box(code).parse::<CodiceFiscale>());
            }
        })
    });
    group.bench_function("health_card_scan", |b| {
        b.iter(|| {
            for code in CODES {
                let _ = black_box(parse_health_card_scan(black_box(&format!("*{code}*\r\n"))));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
