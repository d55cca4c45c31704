//! `#[derive(Model)]` for [extws-sdk](https://docs.rs/extws-sdk): gives a request, reply or
//! push struct its `Type` (the struct's name, or `#[extws(type = "...")]`) and its JSON Schema
//! (from the fields, honouring `#[serde(rename = "...")]` and `#[serde(default)]`).

use proc_macro::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, parse_macro_input};

/// Derives `extws_sdk::Model` and `extws_sdk::Schema` for a struct with named fields (or none:
/// `struct WhoAmIRequest {}`).
///
/// ```ignore
/// #[derive(serde::Deserialize, extws_sdk::Model)]
/// struct CalculateRequest {
///     numbers: Vec<i64>,
/// }
/// ```
#[proc_macro_derive(Model, attributes(extws))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let mut type_name = name.to_string();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("extws")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("type") {
                type_name = meta.value()?.parse::<LitStr>()?.value();
                Ok(())
            } else {
                Err(meta.error("expected `type = \"...\"`"))
            }
        })?;
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            name,
            "Model is derived for structs (a message's Data is a JSON object)",
        ));
    };
    let fields = match &data.fields {
        Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
        Fields::Unit => Vec::new(),
        Fields::Unnamed(_) => {
            return Err(syn::Error::new_spanned(
                name,
                "Model needs named fields (a JSON object), or `{}` for none",
            ));
        }
    };
    let mut inserts = Vec::new();
    for field in fields {
        let ident = field.ident.as_ref().expect("named");
        let mut key = ident.to_string().trim_start_matches("r#").to_string();
        let mut defaulted = false;
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
            // Only what changes the JSON shape matters here; other serde options are skipped.
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    key = meta.value()?.parse::<LitStr>()?.value();
                } else if meta.path.is_ident("default") {
                    defaulted = true;
                    if meta.input.peek(syn::Token![=]) {
                        meta.value()?.parse::<LitStr>()?;
                    }
                } else if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                }
                Ok(())
            });
        }
        let ty = &field.ty;
        inserts.push(quote! {
            properties.insert(
                #key.to_string(),
                <#ty as ::extws_sdk::Schema>::schema(defs),
            );
            if !#defaulted && !<#ty as ::extws_sdk::Schema>::OPTIONAL {
                required.push(::extws_sdk::__private::serde_json::Value::from(#key));
            }
        });
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::extws_sdk::Model for #name #ty_generics #where_clause {
            const TYPE: &'static str = #type_name;

            fn object_schema(
                defs: &mut ::extws_sdk::schema::Defs,
            ) -> ::extws_sdk::__private::serde_json::Value {
                let mut properties = ::extws_sdk::__private::serde_json::Map::new();
                let mut required = ::std::vec::Vec::new();
                #(#inserts)*
                ::extws_sdk::schema::object(#type_name, properties, required)
            }
        }

        impl #impl_generics ::extws_sdk::Schema for #name #ty_generics #where_clause {
            fn schema(
                defs: &mut ::extws_sdk::schema::Defs,
            ) -> ::extws_sdk::__private::serde_json::Value {
                defs.reference::<Self>()
            }
        }
    })
}
