//! The faults a scenario's `faults:` map, a `faults` step, `harness up --faults` and
//! `scenario from-item` name: each owned where it is armed — the FTPS server's
//! (`ftps::FtpsFault`), AWS's at the world's edge (`emulate::aws_fault::AwsFault`), Lambda's
//! (`emulate::lambda::LambdaFault`), those of AWS's deliveries between the parts
//! (`emulate::deliveries`: status-change events, the Scheduler's timers, the Pipe) — and written
//! as one flat map (`{drop_after_bytes: 1024, aws: [...], lambda: [...], events: [...]}`). `World::inject` hands each to its owner.

use std::fmt;

use serde::de::value::StringDeserializer;
use serde::de::{self, EnumAccess, IntoDeserializer, VariantAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::emulate::aws_fault::AwsFault;
use crate::emulate::deliveries::{EventFault, PipeFault, SchedulerFault};
use crate::emulate::lambda::LambdaFault;
use crate::ftps::FtpsFault;

/// One fault, named in scenario files by its snake_case name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A fault of the in-process FTPS server, under its own name (`drop_after_bytes: 1024`).
    Ftps(FtpsFault),
    /// `aws: [...]`: faults of AWS itself, armed at the world's edge endpoint.
    Aws(Vec<AwsFault>),
    /// `lambda: [...]`: faults of Lambda running the pipeline's functions.
    Lambda(Vec<LambdaFault>),
    /// `events: [...]`: Step Functions status-change events dropped, duplicated or delayed.
    Events(Vec<EventFault>),
    /// `scheduler: [...]`: deadline timers firing late or twice.
    Scheduler(Vec<SchedulerFault>),
    /// `pipe: [...]`: the Pipe's deliveries late or dropped.
    Pipe(Vec<PipeFault>),
}

impl From<FtpsFault> for Fault {
    fn from(fault: FtpsFault) -> Self {
        Self::Ftps(fault)
    }
}

/// A set of faults as scenario files write it: a map from fault name to its value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultSet(#[serde(with = "serde_with::As::<serde_with::EnumMap>")] pub Vec<Fault>);

impl FaultSet {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The FTPS server's faults among them.
    pub fn ftps(&self) -> impl Iterator<Item = &FtpsFault> {
        self.0.iter().filter_map(|fault| match fault {
            Fault::Ftps(fault) => Some(fault),
            _ => None,
        })
    }
}

impl From<Vec<Fault>> for FaultSet {
    fn from(faults: Vec<Fault>) -> Self {
        Self(faults)
    }
}

// The map is flat: an FTPS fault is written as its own variant, as if `Fault` listed them all.

const AWS: &str = "aws";
const LAMBDA: &str = "lambda";
const EVENTS: &str = "events";
const SCHEDULER: &str = "scheduler";
const PIPE: &str = "pipe";

impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Ftps(fault) => fault.serialize(serializer),
            // Indices past the FTPS server's variants (the map's formats go by name).
            Self::Aws(faults) => serializer.serialize_newtype_variant("Fault", 100, AWS, faults),
            Self::Lambda(faults) => serializer.serialize_newtype_variant("Fault", 101, LAMBDA, faults),
            Self::Events(faults) => serializer.serialize_newtype_variant("Fault", 102, EVENTS, faults),
            Self::Scheduler(faults) => serializer.serialize_newtype_variant("Fault", 103, SCHEDULER, faults),
            Self::Pipe(faults) => serializer.serialize_newtype_variant("Fault", 104, PIPE, faults),
        }
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum("Fault", &[], FaultVisitor)
    }
}

struct FaultVisitor;

impl<'de> Visitor<'de> for FaultVisitor {
    type Value = Fault;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fault: an FTPS server's, `aws`, `lambda`, `events`, `scheduler` or `pipe`")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Fault, A::Error> {
        let (name, variant): (String, _) = data.variant()?;
        match name.as_str() {
            AWS => variant.newtype_variant().map(Fault::Aws),
            LAMBDA => variant.newtype_variant().map(Fault::Lambda),
            EVENTS => variant.newtype_variant().map(Fault::Events),
            SCHEDULER => variant.newtype_variant().map(Fault::Scheduler),
            PIPE => variant.newtype_variant().map(Fault::Pipe),
            _ => {
                let unknown = format!("unknown variant `{name}`");
                FtpsFault::deserialize(Named { name, variant })
                    .map(Fault::Ftps)
                    .map_err(|e: A::Error| with_owners(e, &unknown))
            }
        }
    }
}

/// An unknown fault name's error lists the FTPS server's faults; the other owners' are named too.
/// (Only the name's: an unknown word in a fault's value keeps its own error.)
fn with_owners<E: de::Error>(error: E, unknown_name: &str) -> E {
    let message = error.to_string();
    if message.starts_with(unknown_name) {
        E::custom(format_args!(
            "{message}, `{AWS}`, `{LAMBDA}`, `{EVENTS}`, `{SCHEDULER}`, `{PIPE}`"
        ))
    } else {
        error
    }
}

/// An enum whose variant name was read already, handed on to `FtpsFault`'s own `Deserialize`.
struct Named<A> {
    name: String,
    variant: A,
}

impl<'de, A: VariantAccess<'de>> Deserializer<'de> for Named<A> {
    type Error = A::Error;

    fn deserialize_any<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, A::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, A: VariantAccess<'de>> EnumAccess<'de> for Named<A> {
    type Error = A::Error;
    type Variant = A;

    fn variant_seed<S: de::DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, A), A::Error> {
        let name: StringDeserializer<A::Error> = self.name.into_deserializer();
        Ok((seed.deserialize(name)?, self.variant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::times::Times;

    #[test]
    fn a_fault_set_reads_and_writes_the_scenario_map() {
        let set: FaultSet =
            serde_yaml::from_str("drop_after_bytes: 1024\ndrop_times: always\nrefuse_delete: true\n").unwrap();
        assert_eq!(
            set.0,
            [
                FtpsFault::DropAfterBytes(1024).into(),
                FtpsFault::DropTimes(Times::ALWAYS).into(),
                FtpsFault::RefuseDelete(true).into()
            ]
        );
        assert_eq!(
            serde_yaml::to_string(&set).unwrap(),
            "drop_after_bytes: 1024\ndrop_times: always\nrefuse_delete: true\n"
        );
        let err = serde_yaml::from_str::<FaultSet>("colour: 1\n").unwrap_err().to_string();
        assert!(err.contains("unknown variant `colour`"), "{err}");
        assert!(
            err.contains("refuse_delete") && err.contains("`aws`, `lambda`"),
            "{err}"
        );
        // An unknown word in a fault's value is the value's error, not a fault name's.
        let err = serde_json::from_str::<FaultSet>(r#"{"change_source_after_download": "apend"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown variant `apend`") && !err.contains("lambda"),
            "{err}"
        );
    }

    #[test]
    fn the_owners_faults_share_one_flat_map() {
        let text = "refuse_delete: true\naws:\n  - {action: \"dynamodb:UpdateItem\", respond: throttle, times: 3}\n\
                    lambda:\n  - {function: TransferFile, fault: crash, after_bytes: 1024}\n";
        let set: FaultSet = serde_yaml::from_str(text).unwrap();
        assert!(
            matches!(set.0.as_slice(), [Fault::Ftps(FtpsFault::RefuseDelete(true)), Fault::Aws(aws), Fault::Lambda(lambda)] if aws.len() == 1 && lambda.len() == 1),
            "{set:?}"
        );
        assert_eq!(
            serde_yaml::from_str::<FaultSet>(&serde_yaml::to_string(&set).unwrap()).unwrap(),
            set
        );
        let json: FaultSet = serde_json::from_str(r#"{"size_delta": 1}"#).unwrap();
        assert_eq!(json.0, [FtpsFault::SizeDelta(1).into()]);
        assert_eq!(serde_json::to_string(&json).unwrap(), r#"{"size_delta":1}"#);
    }
}
