//! Zebra protocol (ZAPI) wire codec for Quagga v2/v3 and FRR 8.4, sans-I/O.
