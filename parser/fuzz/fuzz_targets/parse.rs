//! Feeds arbitrary text to the whole parser, the conformance dump and the
//! shell lexer: none may panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = kiln_parser::parse(text, "Dockerfile");
    let _ = kiln_parser::dump::dump(&kiln_parser::syntax::parse_nodes(text, "Dockerfile"));
    let _ = kiln_parser::expand_words(text, '\\', &|name| {
        (name.len() % 2 == 0).then(|| name.repeat(2))
    });
});
