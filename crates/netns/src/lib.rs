//! Named network namespaces, veth pairs and bridges over netlink: the bgpd container of one BGP port.
