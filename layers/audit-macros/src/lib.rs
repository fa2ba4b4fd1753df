//! `#[audited]`: one audit record per call of a function, with its
//! parameters, outcome and duration. Use it through `warden_audit::audited`.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Token, Type, parse_macro_input};

/// What the attribute's arguments say.
#[derive(Default)]
struct Args {
    skip: Vec<Ident>,
    skip_all: bool,
    fields: Vec<(Tokens, Expr)>,
    action: Option<LitStr>,
    event_type: Option<LitStr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let name: Ident = input.parse()?;
            match name.to_string().as_str() {
                "skip" => {
                    let content;
                    syn::parenthesized!(content in input);
                    args.skip
                        .extend(Punctuated::<Ident, Token![,]>::parse_terminated(&content)?);
                }
                "skip_all" => args.skip_all = true,
                "fields" => {
                    let content;
                    syn::parenthesized!(content in input);
                    while !content.is_empty() {
                        // A dotted field name (`http.route`) or a plain one.
                        let mut key = Tokens::new();
                        loop {
                            let part: Ident = content.parse()?;
                            part.to_tokens(&mut key);
                            if content.peek(Token![.]) {
                                content.parse::<Token![.]>()?.to_tokens(&mut key);
                            } else {
                                break;
                            }
                        }
                        content.parse::<Token![=]>()?;
                        let value: Expr = content.parse()?;
                        args.fields.push((key, value));
                        if !content.is_empty() {
                            content.parse::<Token![,]>()?;
                        }
                    }
                }
                "action" | "name" => {
                    input.parse::<Token![=]>()?;
                    args.action = Some(input.parse()?);
                }
                "event_type" => {
                    input.parse::<Token![=]>()?;
                    args.event_type = Some(input.parse()?);
                }
                other => {
                    return Err(syn::Error::new(
                        name.span(),
                        format!(
                            "unknown #[audited] argument `{other}`; expected skip(..), skip_all, fields(..), action = \"..\", event_type = \"..\""
                        ),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// Records one `TOOL_INVOCATION` audit event per call of the function, as
/// the seeds' `@audit_tool` decorator does: the function's name as the
/// action, its parameters (`Debug`-formatted, sanitized by the audit layer;
/// `skip(..)` or `skip_all` leaves some out, `fields(..)` adds others, as
/// in `#[instrument]`), the outcome (`FAILURE` with the error's message when
/// it returns `Err`, else `SUCCESS`) and the duration. Works on sync and
/// `async` functions and methods.
///
/// See `warden_audit::audited` for an example.
#[proc_macro_attribute]
pub fn audited(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(attr as Args);
    let item = Tokens::from(item);
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            return syn::Error::new_spanned(
                item,
                "#[audited] goes on a function (or a method): it records each call",
            )
            .into_compile_error()
            .into();
        }
    };
    expand(args, function)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The path of `warden-audit` in the calling crate: `::warden_audit`, or
/// `::warden::audit` when only the umbrella crate is a dependency.
fn crate_path() -> Tokens {
    use proc_macro_crate::{FoundCrate, crate_name};
    match crate_name("warden-audit") {
        // The crate's own tests and doc tests reach it by name.
        Ok(FoundCrate::Itself) => quote!(::warden_audit),
        Ok(FoundCrate::Name(name)) => {
            let name = Ident::new(&name, proc_macro2::Span::call_site());
            quote!(::#name)
        }
        Err(_) => match crate_name("warden") {
            Ok(FoundCrate::Name(name)) => {
                let name = Ident::new(&name, proc_macro2::Span::call_site());
                quote!(::#name::audit)
            }
            Ok(FoundCrate::Itself) => quote!(::warden::audit),
            Err(_) => quote!(::warden_audit),
        },
    }
}

fn expand(args: Args, function: ItemFn) -> syn::Result<Tokens> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    for skipped in &args.skip {
        let known = sig.inputs.iter().any(|arg| match arg {
            FnArg::Typed(t) => matches!(&*t.pat, Pat::Ident(p) if p.ident == *skipped),
            FnArg::Receiver(_) => false,
        });
        if !known {
            return Err(syn::Error::new(
                skipped.span(),
                format!("`{skipped}` is not a parameter of this function"),
            ));
        }
    }
    let params: Vec<&Ident> = if args.skip_all {
        Vec::new()
    } else {
        sig.inputs
            .iter()
            .filter_map(|arg| match arg {
                FnArg::Typed(t) => match &*t.pat {
                    Pat::Ident(p) if !args.skip.contains(&p.ident) => Some(&p.ident),
                    _ => None,
                },
                FnArg::Receiver(_) => None,
            })
            .collect()
    };
    let names: Vec<String> = params
        .iter()
        .map(|p| p.to_string().trim_start_matches("r#").to_owned())
        .collect();
    let action = args
        .action
        .map(|a| a.value())
        .unwrap_or_else(|| sig.ident.to_string());
    let event_type = args
        .event_type
        .map(|e| e.value())
        .unwrap_or_else(|| "TOOL_INVOCATION".into());
    let fields = args.fields.iter().map(|(k, v)| quote!(#k = #v,));

    let root = crate_path();
    let private = quote!(#root::__private);
    let output: Option<&Type> = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(ty),
    };
    let has_impl = output.is_some_and(|ty| ty.to_token_stream().to_string().contains("impl"));
    let body = match (sig.asyncness.is_some(), output) {
        (true, Some(ty)) if !has_impl => {
            quote!(#private::typed_future::<#ty, _>(async move #block).await)
        }
        (true, _) => quote!(async move #block.await),
        (false, Some(ty)) if !has_impl => quote!((move || -> #ty #block)()),
        (false, _) => quote!((move || #block)()),
    };
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            let __warden_started = ::std::time::Instant::now();
            let __warden_params = #private::parameters(&[
                #( (#names, &#params as &dyn ::std::fmt::Debug), )*
            ]);
            let __warden_result = #body;
            let (__warden_outcome, __warden_error) = {
                #[allow(unused_imports)]
                use #private::{PlainOutcome as _, ResultOutcome as _};
                (&#private::Probe(&__warden_result)).outcome()
            };
            #root::__tracing::event!(
                target: #root::AUDIT_TARGET,
                #root::__tracing::Level::INFO,
                event_type = #event_type,
                action = #action,
                outcome = __warden_outcome,
                duration_ms = __warden_started.elapsed().as_secs_f64() * 1e3,
                parameters = __warden_params.as_str(),
                error_message = __warden_error.as_deref(),
                #(#fields)*
            );
            __warden_result
        }
    })
}
