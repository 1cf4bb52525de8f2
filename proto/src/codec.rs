//! The codec of every wuye contract: prost's, with two differences.
//! - A message which does not decode (a malformed body, a string field that is not UTF-8) is
//!   the sender's bad input, `INVALID_ARGUMENT`, not the receiver's fault, `INTERNAL`. It is the
//!   sender's on either side: a service refuses such a request, a client such an answer.
//! - A service's answers are concealed as the call may see them ([`crate::personal`]).

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
};

use crate::personal::{Conceal, Shown};

/// prost's codec with decode errors as `INVALID_ARGUMENT` (see the module).
#[derive(Debug, Clone)]
pub struct WuyeCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for WuyeCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for WuyeCodec<T, U>
where
    T: Message + Conceal + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = WuyeEncoder<T>;
    type Decoder = WuyeDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        // Made while the service answers the call, so it knows what the call may see.
        WuyeEncoder {
            shown: crate::personal::current(),
            _message: PhantomData,
        }
    }

    fn decoder(&mut self) -> Self::Decoder {
        WuyeDecoder(PhantomData)
    }
}

/// Encodes `T`, concealed as the answered call may see it.
#[derive(Debug, Clone)]
pub struct WuyeEncoder<T> {
    shown: Option<Shown>,
    _message: PhantomData<T>,
}

impl<T: Message + Conceal> Encoder for WuyeEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, mut item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        if let Some(shown) = &self.shown {
            item.conceal(shown);
        }
        item.encode(buf)
            .map_err(|e| Status::internal(format!("encoding an answer: {e}")))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

/// Decodes `U`, refusing what does not decode as bad input.
#[derive(Debug, Clone)]
pub struct WuyeDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for WuyeDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf)
            .map(Some)
            .map_err(|e| Status::invalid_argument(format!("the message does not decode: {e}")))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}
