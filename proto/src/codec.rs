//! The codec of every wuye contract: prost's, except that a message which does not decode (a
//! malformed body, a string field that is not UTF-8) is the sender's bad input,
//! `INVALID_ARGUMENT`, not the receiver's fault, `INTERNAL`. It is the sender's on either side:
//! a service refuses such a request, a client such an answer.

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstEncoder};

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
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = WuyeDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        WuyeDecoder(PhantomData)
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
