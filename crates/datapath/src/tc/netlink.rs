//! rtnetlink requests for links, ingress qdiscs and u32 filters, and parsing of filter dumps.

use futures::StreamExt;
use rtnetlink::packet_core::{
    DefaultNla, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::packet_route::tc::{
    TcAction, TcActionAttribute, TcActionGeneric, TcActionMirror, TcActionMirrorOption,
    TcActionOption, TcActionType, TcAttribute, TcFilterU32Option, TcHandle, TcMessage, TcMirror,
    TcMirrorActionType, TcOption, TcStats2, TcU32Key, TcU32Selector, TcU32SelectorFlags,
};
use rtnetlink::packet_route::RouteNetlinkMessage;

/// Parent of filters on the ingress hook (`ffff:fff2`, works for `ingress` and `clsact`).
const FILTER_PARENT: u32 = 0xFFFF_FFF2;
/// Parent of the ingress qdisc (`TC_H_INGRESS`).
const INGRESS_PARENT: u32 = 0xFFFF_FFF1;
/// Handle of the ingress qdisc (`ffff:`).
const INGRESS_HANDLE: u32 = 0xFFFF_0000;
/// `TCA_GACT_PARMS`.
const TCA_GACT_PARMS: u16 = 2;
/// `TC_ACT_SHOT`.
const TC_ACT_SHOT: i32 = 2;

/// `EEXIST`, as the kernel reports it.
pub const EEXIST: i32 = libc::EEXIST;
/// `ENOENT`.
pub const ENOENT: i32 = libc::ENOENT;
/// `ENODEV`.
pub const ENODEV: i32 = libc::ENODEV;

/// The errno of a kernel error reply, if that is what the error is.
pub fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        // Saturating: a reply carrying i32::MIN must not overflow the negation.
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| c.get().saturating_neg()),
        _ => None,
    }
}

/// The error as the crate's public type: the kernel's errno and its text, or the transport
/// failure, without netlink types.
pub fn failure(e: rtnetlink::Error) -> netns::NetlinkFailure {
    match errno(&e) {
        Some(n) => netns::NetlinkFailure {
            errno: Some(n),
            detail: std::io::Error::from_raw_os_error(n).to_string(),
        },
        None => netns::NetlinkFailure {
            errno: None,
            detail: e.to_string(),
        },
    }
}

/// One node (hash table or key node) of a u32 filter dump.
#[derive(Debug, Clone, Default)]
pub struct FilterNode {
    /// Priority of the filter.
    pub prio: u16,
    /// Protocol (host order ethertype).
    pub protocol: u16,
    /// Node handle (hash table id or key node handle).
    pub handle: u32,
    /// Filter kind ("u32", ...).
    pub kind: String,
    /// Table this node links to.
    pub link: Option<u32>,
    /// Set for hash-table nodes.
    pub divisor: Option<u32>,
    /// Class id of the node, if set.
    pub classid: Option<u32>,
    /// Cookie of the node's action, if any.
    pub cookie: Option<Vec<u8>>,
    /// The node's selector keys.
    pub keys: Vec<TcU32Key>,
    /// What the node's action does, if it has one this crate knows.
    pub action: Option<FilterAction>,
    /// Packets counted by the node's actions.
    pub packets: u64,
    /// Bytes counted by the node's actions.
    pub bytes: u64,
}

/// The action of a flow filter.
#[derive(Debug, Clone, Copy)]
pub enum FilterAction {
    /// mirred egress redirect to this ifindex.
    Redirect(u32),
    /// gact drop (needs `act_gact` in the kernel).
    Drop,
}

fn filter_info(prio: u16, protocol: u16) -> u32 {
    (u32::from(prio) << 16) | u32::from(protocol.to_be())
}

fn base_filter(ifindex: u32, prio: u16, protocol: u16, handle: u32) -> TcMessage {
    let mut m = TcMessage::with_index(ifindex as i32);
    m.header.parent = TcHandle::from(FILTER_PARENT);
    m.header.handle = TcHandle::from(handle);
    m.header.info = filter_info(prio, protocol);
    m
}

fn u32_message(mut m: TcMessage, opts: Vec<TcFilterU32Option>) -> TcMessage {
    m.attributes.push(TcAttribute::Kind("u32".to_string()));
    m.attributes.push(TcAttribute::Options(
        opts.into_iter().map(TcOption::U32).collect(),
    ));
    m
}

fn gact(action: i32) -> TcActionOption {
    // struct tc_gact { index, capab, action, refcnt, bindcnt } in native byte order.
    let mut v = Vec::with_capacity(20);
    for x in [0i32, 0, action, 0, 0] {
        v.extend_from_slice(&x.to_ne_bytes());
    }
    TcActionOption::Other(DefaultNla::new(TCA_GACT_PARMS, v))
}

fn action(kind: FilterAction, cookie: Vec<u8>) -> TcAction {
    let mut a = TcAction::default();
    match kind {
        FilterAction::Redirect(ifindex) => {
            let mut generic = TcActionGeneric::default();
            generic.action = TcActionType::Stolen;
            let mut mirror = TcMirror::default();
            mirror.generic = generic;
            mirror.eaction = TcMirrorActionType::EgressRedir;
            mirror.ifindex = ifindex;
            a.attributes
                .push(TcActionAttribute::Kind(TcActionMirror::KIND.to_string()));
            a.attributes
                .push(TcActionAttribute::Options(vec![TcActionOption::Mirror(
                    TcActionMirrorOption::Parms(mirror),
                )]));
        }
        FilterAction::Drop => {
            a.attributes
                .push(TcActionAttribute::Kind("gact".to_string()));
            a.attributes
                .push(TcActionAttribute::Options(vec![gact(TC_ACT_SHOT)]));
        }
    }
    a.attributes.push(TcActionAttribute::Cookie(cookie));
    a
}

fn selector(keys: Vec<TcU32Key>, flags: TcU32SelectorFlags) -> TcU32Selector {
    let mut s = TcU32Selector::default();
    s.flags = flags;
    s.nkeys = keys.len().min(usize::from(u8::MAX)) as u8;
    s.keys = keys;
    s
}

/// The marker filter: a u32 node without actions whose class id says "this crate created the
/// ingress qdisc" (class ids mean nothing on an ingress qdisc, and without actions a match just
/// lets the frame continue).
pub fn marker_message(ifindex: u32, prio: u16, protocol: u16, classid: u32) -> TcMessage {
    u32_message(
        base_filter(ifindex, prio, protocol, 0),
        vec![
            TcFilterU32Option::ClassId(TcHandle::from(classid)),
            TcFilterU32Option::Selector(selector(
                vec![TcU32Key::default()],
                TcU32SelectorFlags::Terminal,
            )),
        ],
    )
}

/// A u32 hash table with one bucket, `htid` (shifted), at `prio`.
pub fn table_message(ifindex: u32, prio: u16, protocol: u16, htid: u32) -> TcMessage {
    u32_message(
        base_filter(ifindex, prio, protocol, htid),
        vec![TcFilterU32Option::Divisor(1)],
    )
}

/// A terminal key node with an action, in table `htid` (or the priority's root table).
pub fn terminal_message(
    ifindex: u32,
    prio: u16,
    protocol: u16,
    htid: Option<u32>,
    keys: Vec<TcU32Key>,
    act: FilterAction,
    cookie: Vec<u8>,
) -> TcMessage {
    let mut opts = Vec::new();
    if let Some(h) = htid {
        opts.push(TcFilterU32Option::Hash(h));
    }
    opts.push(TcFilterU32Option::Selector(selector(
        keys,
        TcU32SelectorFlags::Terminal,
    )));
    opts.push(TcFilterU32Option::Action(vec![action(act, cookie)]));
    u32_message(base_filter(ifindex, prio, protocol, 0), opts)
}

/// A root key node that, on a match, continues in table `htid` at the IPv4 transport header
/// (offset = IHL * 4, read from the first 16 bits of the IP header).
pub fn ipv4_link_message(
    ifindex: u32,
    prio: u16,
    protocol: u16,
    keys: Vec<TcU32Key>,
    htid: u32,
) -> TcMessage {
    let mut sel = selector(
        keys,
        TcU32SelectorFlags::VarOffset | TcU32SelectorFlags::Eat,
    );
    sel.offoff = 0;
    sel.offmask = 0x0F00;
    sel.offshift = 6;
    u32_message(
        base_filter(ifindex, prio, protocol, 0),
        vec![
            TcFilterU32Option::Selector(sel),
            TcFilterU32Option::Link(htid),
        ],
    )
}

/// A handle to one rtnetlink connection.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: rtnetlink::Handle,
}

impl Netlink {
    /// Wraps a connected handle.
    pub fn new(handle: rtnetlink::Handle) -> Netlink {
        Netlink { handle }
    }

    async fn request(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, rtnetlink::Error> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | flags;
        let mut handle = self.handle.clone();
        let mut replies = handle.request(req)?;
        let mut out = Vec::new();
        while let Some(reply) = replies.next().await {
            match reply.payload {
                NetlinkPayload::Error(e) if e.code.is_some() => {
                    return Err(rtnetlink::Error::NetlinkError(e))
                }
                NetlinkPayload::InnerMessage(m) => out.push(m),
                NetlinkPayload::Done(_) => break,
                _ => {}
            }
        }
        Ok(out)
    }

    /// The ifindex of a link, `None` when it does not exist.
    pub async fn link_index(&self, name: &str) -> Result<Option<u32>, rtnetlink::Error> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(RouteNetlinkMessage::GetLink(m), 0).await {
            Ok(replies) => Ok(replies.into_iter().find_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l.header.index),
                _ => None,
            })),
            Err(e) if matches!(errno(&e), Some(ENODEV)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The name of a link, `None` when it does not exist.
    pub async fn link_name(&self, ifindex: u32) -> Result<Option<String>, rtnetlink::Error> {
        let mut m = LinkMessage::default();
        m.header.index = ifindex;
        match self.request(RouteNetlinkMessage::GetLink(m), 0).await {
            Ok(replies) => Ok(replies.into_iter().find_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => l.attributes.into_iter().find_map(|a| match a {
                    LinkAttribute::IfName(n) => Some(n),
                    _ => None,
                }),
                _ => None,
            })),
            Err(e) if matches!(errno(&e), Some(ENODEV)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Ifindexes of every link with an ingress (or clsact) qdisc.
    pub async fn ingress_links(&self) -> Result<Vec<u32>, rtnetlink::Error> {
        let replies = self
            .request(
                RouteNetlinkMessage::GetQueueDiscipline(TcMessage::default()),
                NLM_F_DUMP,
            )
            .await?;
        let mut out = Vec::new();
        for r in replies {
            if let RouteNetlinkMessage::NewQueueDiscipline(q) = r {
                let ingress = q
                    .attributes
                    .iter()
                    .any(|a| matches!(a, TcAttribute::Kind(k) if k == "ingress" || k == "clsact"));
                if ingress && q.header.index > 0 && !out.contains(&(q.header.index as u32)) {
                    out.push(q.header.index as u32);
                }
            }
        }
        Ok(out)
    }

    /// Adds the ingress qdisc; `Ok(false)` when the link already has one.
    pub async fn add_ingress_qdisc(&self, ifindex: u32) -> Result<bool, rtnetlink::Error> {
        let mut m = TcMessage::with_index(ifindex as i32);
        m.header.parent = TcHandle::from(INGRESS_PARENT);
        m.header.handle = TcHandle::from(INGRESS_HANDLE);
        m.attributes.push(TcAttribute::Kind("ingress".to_string()));
        match self
            .request(
                RouteNetlinkMessage::NewQueueDiscipline(m),
                NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if matches!(errno(&e), Some(EEXIST)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the ingress qdisc (and with it every filter on it).
    pub async fn del_ingress_qdisc(&self, ifindex: u32) -> Result<(), rtnetlink::Error> {
        let mut m = TcMessage::with_index(ifindex as i32);
        m.header.parent = TcHandle::from(INGRESS_PARENT);
        m.header.handle = TcHandle::from(INGRESS_HANDLE);
        m.attributes.push(TcAttribute::Kind("ingress".to_string()));
        match self
            .request(RouteNetlinkMessage::DelQueueDiscipline(m), NLM_F_ACK)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(errno(&e), Some(ENOENT | libc::EINVAL)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends a filter creation message (exclusive create).
    pub async fn add_filter(&self, m: TcMessage) -> Result<(), rtnetlink::Error> {
        self.request(
            RouteNetlinkMessage::NewTrafficFilter(m),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
        .map(|_| ())
    }

    /// Deletes one node (`handle != 0`) or the whole priority (`handle == 0`). Absent is fine.
    pub async fn del_filter(
        &self,
        ifindex: u32,
        prio: u16,
        protocol: u16,
        handle: u32,
    ) -> Result<(), rtnetlink::Error> {
        let mut m = base_filter(ifindex, prio, protocol, handle);
        if handle != 0 {
            m.attributes.push(TcAttribute::Kind("u32".to_string()));
        }
        match self
            .request(RouteNetlinkMessage::DelTrafficFilter(m), NLM_F_ACK)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(errno(&e), Some(ENOENT)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every filter node on the link's ingress hook.
    pub async fn dump_filters(&self, ifindex: u32) -> Result<Vec<FilterNode>, rtnetlink::Error> {
        let mut m = TcMessage::with_index(ifindex as i32);
        m.header.parent = TcHandle::from(FILTER_PARENT);
        let replies = match self
            .request(RouteNetlinkMessage::GetTrafficFilter(m), NLM_F_DUMP)
            .await
        {
            Ok(r) => r,
            // No ingress qdisc (any more): no filters.
            Err(e) if matches!(errno(&e), Some(ENOENT | libc::EINVAL | ENODEV)) => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(e),
        };
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewTrafficFilter(f) if f.header.index as u32 == ifindex => {
                    Some(parse_node(&f))
                }
                _ => None,
            })
            .collect())
    }
}

fn parse_node(f: &TcMessage) -> FilterNode {
    let mut n = FilterNode {
        prio: (f.header.info >> 16) as u16,
        protocol: u16::from_be((f.header.info & 0xffff) as u16),
        handle: u32::from(f.header.handle),
        ..FilterNode::default()
    };
    for a in &f.attributes {
        match a {
            TcAttribute::Kind(k) => n.kind = k.clone(),
            TcAttribute::Options(opts) => {
                for o in opts {
                    match o {
                        TcOption::U32(TcFilterU32Option::Link(l)) => n.link = Some(*l),
                        TcOption::U32(TcFilterU32Option::Divisor(d)) => n.divisor = Some(*d),
                        TcOption::U32(TcFilterU32Option::ClassId(c)) => {
                            n.classid = Some(u32::from(*c))
                        }
                        TcOption::U32(TcFilterU32Option::Selector(sel)) => {
                            n.keys = sel.keys.clone()
                        }
                        TcOption::U32(TcFilterU32Option::Action(acts)) => {
                            for act in acts {
                                for aa in &act.attributes {
                                    match aa {
                                        TcActionAttribute::Kind(k) if k == "gact" => {
                                            n.action = Some(FilterAction::Drop)
                                        }
                                        TcActionAttribute::Options(opts) => {
                                            for o in opts {
                                                if let TcActionOption::Mirror(
                                                    TcActionMirrorOption::Parms(m),
                                                ) = o
                                                {
                                                    n.action =
                                                        Some(FilterAction::Redirect(m.ifindex));
                                                }
                                            }
                                        }
                                        TcActionAttribute::Cookie(c) => n.cookie = Some(c.clone()),
                                        TcActionAttribute::Stats(stats) => {
                                            for s in stats {
                                                if let TcStats2::Basic(b) = s {
                                                    // The kernel's counters, summed without
                                                    // overflowing on absurd values.
                                                    n.packets = n
                                                        .packets
                                                        .saturating_add(u64::from(b.packets));
                                                    n.bytes = n.bytes.saturating_add(b.bytes);
                                                }
                                            }
                                        }
                                        _ => {}
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use rtnetlink::packet_core::ErrorMessage;

    fn nack(code: i32) -> rtnetlink::Error {
        let mut m = ErrorMessage::default();
        m.code = std::num::NonZeroI32::new(code);
        rtnetlink::Error::NetlinkError(m)
    }

    #[test]
    fn errno_of_kernel_replies() {
        assert_eq!(errno(&nack(-libc::ENOENT)), Some(ENOENT));
        assert_eq!(errno(&nack(0)), None);
        // A reply no kernel sends must not overflow the negation.
        assert_eq!(errno(&nack(i32::MIN)), Some(i32::MAX));
        assert_eq!(errno(&rtnetlink::Error::RequestFailed), None);
    }

    /// The three replies of a real kernel (6.1) to an ingress filter dump, captured after
    /// `tc filter add dev va parent ffff: prio 49152 protocol ip u32 match ip dst 192.0.2.1/32
    /// match ip protocol 1 0xff action mirred egress redirect dev vd cookie
    /// 4d42475001020304050607080a0b0c0d` and three 84-byte pings through it (`tc -s` showed
    /// `Sent 252 bytes 3 pkt`): the priority, its hash table, and the key node with the action
    /// and its statistics.
    const DUMP: [&str; 3] = [
        "340000002c00020001000000e06500000000000003000000000000000000ffff080000c0080001007533320008000b0000000000",
        "400000002c00020001000000e06500000000000003000000000000800000ffff080000c0080001007533320008000b00000000000c0002000800040001000000",
        "380100002c00020001000000e06500000000000003000000000800800000ffff080000c0080001007533320008000b0000000000040102003400050001000200000000000000000000000000ffffffffc0000201100000000000000000ff0000000100000800000000000000080002000000008008000b0008000000bc000700b80001000b0001006d697272656400004400040014000100fc0000000000000003000000000000001400070000000000000000000000000000000000180003000000000000000000000000000000000003000000140006004d42475001020304050607080a0b0c0d08000a0000000000480002002000020001000000000000000400000001000000010000000100000005000000240001009400000000000000680000000000000000000000000000009100000000000000",
    ];

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn node(hex: &str) -> FilterNode {
        let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&unhex(hex)).unwrap();
        match m.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewTrafficFilter(f)) => {
                parse_node(&f)
            }
            other => panic!("not a filter: {other:?}"),
        }
    }

    #[test]
    fn captured_dump_gives_the_action_counters_of_the_key_node() {
        let [prio, table, key] = DUMP.map(node);
        for n in [&prio, &table, &key] {
            assert_eq!(n.prio, 49152);
            assert_eq!(n.protocol, 0x0800);
            assert_eq!(n.kind, "u32");
        }
        // The priority and its table carry no action and count nothing.
        assert_eq!(prio.handle, 0);
        assert_eq!(table.handle, 0x8000_0000);
        assert_eq!(table.divisor, Some(1));
        for n in [&prio, &table] {
            assert_eq!((n.packets, n.bytes), (0, 0));
            assert!(n.cookie.is_none() && n.action.is_none());
        }
        // The key node: its selector, the redirect to vd (ifindex 5), the cookie, and the
        // mirred action's basic statistics (bytes from the network header: 3 × 84).
        assert_eq!(key.handle, 0x8000_0800);
        assert_eq!(key.divisor, None);
        assert_eq!(key.keys.len(), 2);
        assert_eq!(key.keys[0].val, u32::from_be_bytes([192, 0, 2, 1]));
        assert_eq!(key.keys[0].mask, u32::MAX);
        assert_eq!(key.keys[0].off, 16);
        assert_eq!(key.keys[1].off, 8);
        assert!(matches!(key.action, Some(FilterAction::Redirect(5))));
        assert_eq!(
            key.cookie.as_deref(),
            Some(&unhex("4d42475001020304050607080a0b0c0d")[..])
        );
        assert_eq!((key.packets, key.bytes), (3, 252));
    }

    #[test]
    fn truncated_replies_do_not_parse() {
        let bytes = unhex(DUMP[2]);
        for cut in [0, 16, 20, 100, bytes.len() - 1] {
            // A short buffer is refused by the decoder, never a panic; parse_node only ever
            // sees whole messages.
            assert!(
                NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }
}
