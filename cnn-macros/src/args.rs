//! The macro's arguments: `"path"` then optional `name = Ident`, `input = [c, h, w]`,
//! `classes = n`.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitInt, LitStr, Token};

pub struct Args {
    pub path: LitStr,
    pub name: Option<Ident>,
    pub input: Option<[usize; 3]>,
    pub classes: Option<usize>,
}

impl Args {
    pub fn overrides(&self) -> cnn_arch::Overrides {
        cnn_arch::Overrides {
            name: self.name.as_ref().map(Ident::to_string),
            input: self.input,
            classes: self.classes,
        }
    }
}

const KEYS: [&str; 3] = ["name", "input", "classes"];

impl Parse for Args {
    fn parse(stream: ParseStream) -> syn::Result<Self> {
        let path: LitStr = stream.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the architecture file's path, e.g. cnn_from_json!(\"arch.json\")",
            )
        })?;
        let mut args = Args {
            path,
            name: None,
            input: None,
            classes: None,
        };
        while !stream.is_empty() {
            stream.parse::<Token![,]>()?;
            if stream.is_empty() {
                break;
            }
            let key: Ident = stream.parse()?;
            stream.parse::<Token![=]>()?;
            args.set(&key, stream)?;
        }
        Ok(args)
    }
}

impl Args {
    fn set(&mut self, key: &Ident, stream: ParseStream) -> syn::Result<()> {
        let duplicate = || syn::Error::new(key.span(), format!("`{key}` is given twice"));
        match key.to_string().as_str() {
            "name" => {
                let name: Ident = stream.parse()?;
                self.name.replace(name).map_or(Ok(()), |_| Err(duplicate()))
            }
            "input" => {
                let content;
                let bracket = syn::bracketed!(content in stream);
                let dims = Punctuated::<LitInt, Token![,]>::parse_terminated(&content)?;
                let dims: Vec<usize> = dims.iter().map(positive).collect::<syn::Result<_>>()?;
                let dims: [usize; 3] = dims.try_into().map_err(|_| {
                    syn::Error::new(bracket.span.join(), "`input` is [channels, height, width]")
                })?;
                self.input
                    .replace(dims)
                    .map_or(Ok(()), |_| Err(duplicate()))
            }
            "classes" => {
                let classes = positive(&stream.parse()?)?;
                self.classes
                    .replace(classes)
                    .map_or(Ok(()), |_| Err(duplicate()))
            }
            other => {
                let hint = match cnn_arch::nearest(other, &KEYS) {
                    Some(best) => format!("; did you mean `{best}`?"),
                    None => format!("; expected one of {}", KEYS.join(", ")),
                };
                Err(syn::Error::new(
                    key.span(),
                    format!("unknown argument `{other}`{hint}"),
                ))
            }
        }
    }
}

fn positive(lit: &LitInt) -> syn::Result<usize> {
    match lit.base10_parse::<usize>()? {
        0 => Err(syn::Error::new(lit.span(), "must be at least 1")),
        n => Ok(n),
    }
}
