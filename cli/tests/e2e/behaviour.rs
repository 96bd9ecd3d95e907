//! Behaviours where kiln once differed from BuildKit; each expectation was recorded
//! from BuildKit (dockerd 20.10), or from the newer BuildKit the note names.

use crate::harness::Kiln;
use crate::image::config;

#[test]
fn expose_of_a_variable_splits_into_ports() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "expose",
        &[(
            "Dockerfile",
            "FROM busybox:local\n\
             ARG PORTS=\"3000 4000/udp\"\n\
             EXPOSE $PORTS 80\n\
             ENV P2=\"5000/tcp 6000-6001/UDP\"\n\
             EXPOSE $P2\n",
        )],
    );
    kiln.build("expose:1", &dir).ok();
    let c = config(&kiln, "expose:1");
    let ports: Vec<&String> = c["config"]["ExposedPorts"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        ports,
        [
            "3000/tcp", "4000/udp", "5000/tcp", "6000/udp", "6001/udp", "80/tcp"
        ]
    );
}
