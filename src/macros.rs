//! Declarative macros: [`pin!`](crate::pin!), [`join!`](crate::join!),
//! [`try_join!`](crate::try_join!) and [`select!`](crate::select!).
//!
//! All of them are `macro_rules!` with no `unsafe`: every future is pinned on the caller's
//! stack with `core::pin::pin!` (each in its own `pin!`, kept in a tuple; a tuple pattern
//! with `_` for the branches before it reaches branch *n*). The joined or selected futures
//! are polled inside the one task poll that polls the macro's future, so they share that
//! poll's cooperative budget: nothing special is needed for it.
//!
//! `select!` returns which branch won through a nested two-variant enum (`__private::Out`:
//! branch *n* is `n` times `Later` around `Here`), so that the handler runs *outside* the
//! polling closure (it may `return`, `break`, `continue` or use `?` for the enclosing
//! function or loop) and after every branch's future has been dropped.

/// Pins values on the stack: `pin!(a, b)` rebinds each ident as a `Pin<&mut T>` to it (the
/// value moves into a place that lives as long as the binding). `pin! { let x = expr; }`
/// declares and pins in one go.
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let ready = async { 1 };
///     rawrt::pin!(ready);
///     let _: &mut Pin<&mut _> = &mut ready;
///     assert_eq!(ready.as_mut().await, 1);
///     rawrt::pin! {
///         let later = rawrt::time::sleep(std::time::Duration::from_millis(1));
///     }
///     later.as_mut().await;
///     assert!(later.is_elapsed());
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
#[macro_export]
macro_rules! pin {
    ($($x:ident),* $(,)?) => {
        $( #[allow(unused_mut)] let mut $x = ::core::pin::pin!($x); )*
    };
    ($(let $x:ident = $init:expr;)*) => {
        $( #[allow(unused_mut)] let mut $x = ::core::pin::pin!($init); )*
    };
}

/// Waits for several futures at once, in one future (one task): polls every branch each time
/// it is woken, and returns all their outputs as a tuple, in branch order, once all are done.
/// Completed branches are dropped at once; the others keep running. For futures that fail,
/// see [`try_join!`](crate::try_join!).
///
/// ```
/// use std::time::Duration;
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let slow = async {
///         rawrt::time::sleep(Duration::from_millis(20)).await;
///         "slow"
///     };
///     let fast = async { 2 };
///     assert_eq!(rawrt::join!(slow, fast), ("slow", 2));
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
#[macro_export]
macro_rules! join {
    (@number [$($done:tt)*] ($($skip:tt)*) $e:expr, $($rest:tt)*) => {
        $crate::join!(@number [$($done)* (($($skip)*) $e)] ($($skip)* _) $($rest)*)
    };
    (@number [$( (($($skip:tt)*) $e:expr) )*] ($($all:tt)*)) => {{
        #[allow(unused_mut)]
        let mut futures = ( $( ::core::pin::pin!(::core::option::Option::Some(
            ::core::future::IntoFuture::into_future($e),
        )), )* );
        #[allow(unused_mut)]
        let mut outputs = ( $( $crate::__private::unset(stringify!($e)), )* );
        ::core::future::poll_fn(move |cx| {
            let _ = &cx;
            let mut pending = false;
            $(
                {
                    let ( $($skip,)* fut, .. ) = &mut futures;
                    if let ::core::option::Option::Some(f) = fut.as_mut().as_pin_mut() {
                        match ::core::future::Future::poll(f, cx) {
                            ::core::task::Poll::Ready(v) => {
                                let ( $($skip,)* out, .. ) = &mut outputs;
                                *out = ::core::option::Option::Some(v);
                                fut.set(::core::option::Option::None);
                            }
                            ::core::task::Poll::Pending => pending = true,
                        }
                    }
                }
            )*
            if pending {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready(( $( {
                let ( $($skip,)* out, .. ) = &mut outputs;
                $crate::__private::take(out)
            }, )* ))
        })
        .await
    }};
    ($($e:expr),* $(,)?) => {
        $crate::join!(@number [] () $($e,)*)
    };
}

/// Waits for several futures that return `Result`s, in one future: like
/// [`join!`](crate::join!), but the first `Err` ends it at once (the other branches are
/// dropped) and is returned; if all succeed, `Ok` of the tuple of values, in branch order.
/// Every branch must have the same error type.
///
/// ```
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let ok = rawrt::try_join!(async { Ok::<_, &str>(1) }, async { Ok(2) });
///     assert_eq!(ok, Ok((1, 2)));
///     let failed = rawrt::try_join!(std::future::pending::<Result<(), &str>>(), async {
///         Err::<(), _>("boom")
///     });
///     assert_eq!(failed, Err("boom"));
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
#[macro_export]
macro_rules! try_join {
    (@number [$($done:tt)*] ($($skip:tt)*) $e:expr, $($rest:tt)*) => {
        $crate::try_join!(@number [$($done)* (($($skip)*) $e)] ($($skip)* _) $($rest)*)
    };
    (@number [$( (($($skip:tt)*) $e:expr) )*] ($($all:tt)*)) => {{
        #[allow(unused_mut)]
        let mut futures = ( $( ::core::pin::pin!(::core::option::Option::Some(
            ::core::future::IntoFuture::into_future($e),
        )), )* );
        #[allow(unused_mut)]
        let mut outputs = ( $( $crate::__private::unset(stringify!($e)), )* );
        ::core::future::poll_fn(move |cx| {
            let _ = &cx;
            let mut pending = false;
            $(
                {
                    let ( $($skip,)* fut, .. ) = &mut futures;
                    if let ::core::option::Option::Some(f) = fut.as_mut().as_pin_mut() {
                        match ::core::future::Future::poll(f, cx) {
                            ::core::task::Poll::Ready(::core::result::Result::Ok(v)) => {
                                let ( $($skip,)* out, .. ) = &mut outputs;
                                *out = ::core::option::Option::Some(v);
                                fut.set(::core::option::Option::None);
                            }
                            ::core::task::Poll::Ready(::core::result::Result::Err(e)) => {
                                return ::core::task::Poll::Ready(
                                    ::core::result::Result::Err(e),
                                );
                            }
                            ::core::task::Poll::Pending => pending = true,
                        }
                    }
                }
            )*
            if pending {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready(::core::result::Result::Ok(( $( {
                let ( $($skip,)* out, .. ) = &mut outputs;
                $crate::__private::take(out)
            }, )* )))
        })
        .await
    }};
    ($($e:expr),* $(,)?) => {
        $crate::try_join!(@number [] () $($e,)*)
    };
}

/// Waits on several futures and runs the handler of the first to complete, dropping the
/// others.
///
/// ```text
/// select! {
///     biased;                                  // optional: poll in order, not at random
///     <pattern> = <future> (, if <condition>)? => <handler>,
///     ...
///     else => <expression>                     // optional
/// }
/// ```
///
/// 1. Every `if` condition is evaluated; a branch whose condition is false is *disabled*.
/// 2. Every `<future>` is evaluated (also the disabled ones', which are never polled) and
///    pinned on the stack.
/// 3. The enabled futures are polled, starting from a randomly chosen branch on each poll
///    (so no branch starves another), or in written order after `biased;`.
/// 4. When one completes, its output is matched against its `<pattern>`. On a match, every
///    future is dropped and the handler runs with the pattern's bindings; its value is the
///    macro's value. On a mismatch, that branch is disabled and the others keep going.
/// 5. When every branch is disabled, the `else` expression runs; without one, `select!`
///    panics with "all branches are disabled and there is no else branch".
///
/// Handlers run outside the polling, in the enclosing function: `return`, `?`, `break` and
/// `continue` act on it (and on its loop). At most 64 branches.
///
/// # Cancel safety
/// When one branch completes, the other branches' futures are *dropped*, mid-way: whatever
/// they were doing is cancelled. In a loop, use only futures that lose nothing when dropped
/// (rawrt documents this per method: e.g. `mpsc::Receiver::recv`, `TcpListener::accept`,
/// `sleep` are cancel-safe; `read_exact` is not), or create the future once outside the
/// loop and select on `&mut fut` so that it survives iterations.
///
/// ```
/// use std::time::Duration;
///
/// let rt = rawrt::Runtime::new()?;
/// rt.block_on(async {
///     let (tx, mut rx) = rawrt::sync::mpsc::channel::<u32>(4);
///     tx.send(7).await.unwrap();
///     let mut got = Vec::new();
///     loop {
///         rawrt::select! {
///             Some(v) = rx.recv() => got.push(v),
///             _ = rawrt::time::sleep(Duration::from_millis(20)) => break,
///         }
///     }
///     assert_eq!(got, [7]);
///
///     let mut done = false;
///     let picked = rawrt::select! {
///         biased;
///         v = async { 1 }, if !done => v,
///         v = async { 2 } => v,
///     };
///     assert_eq!(picked, 1);
///     done = true;
///     let picked = rawrt::select! {
///         v = async { 1 }, if !done => v,
///         else => 0,
///     };
///     assert_eq!(picked, 0);
/// });
/// # Ok::<_, std::io::Error>(())
/// ```
#[macro_export]
macro_rules! select {
    // Entry: `biased;` or not.
    (biased; $($rest:tt)*) => {
        $crate::select!(@parse true [] () () $($rest)*)
    };

    // Parsing: `@parse biased [branches] (skip) (else) tokens`. A branch is
    // `((skip) [pattern tokens] (future) (condition) (handler))`.
    (@parse $b:tt $br:tt $skip:tt () else => $else:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $b $br $skip ($else) $($($rest)*)?)
    };
    (@parse $b:tt [$($br:tt)*] ($($skip:tt)*) $else:tt) => {
        $crate::select!(@run $b ($($skip)*) $else $($br)*)
    };
    (@parse $b:tt $br:tt $skip:tt $else:tt , $($rest:tt)*) => {
        $crate::select!(@parse $b $br $skip $else $($rest)*)
    };
    (@parse $b:tt $br:tt $skip:tt $else:tt $($rest:tt)+) => {
        $crate::select!(@pat $b $br $skip $else [] $($rest)+)
    };

    // A pattern: its tokens up to the `=`.
    (@pat $b:tt $br:tt $skip:tt $else:tt [$($p:tt)*] = $f:expr, if $c:expr => $($rest:tt)*) => {
        $crate::select!(@handler $b $br $skip $else [$($p)*] ($f) ($c) $($rest)*)
    };
    (@pat $b:tt $br:tt $skip:tt $else:tt [$($p:tt)*] = $f:expr => $($rest:tt)*) => {
        $crate::select!(@handler $b $br $skip $else [$($p)*] ($f) (true) $($rest)*)
    };
    (@pat $b:tt $br:tt $skip:tt $else:tt [$($p:tt)*] $t:tt $($rest:tt)*) => {
        $crate::select!(@pat $b $br $skip $else [$($p)* $t] $($rest)*)
    };

    // A handler: a block (comma optional) or an expression (comma unless last).
    (@handler $b:tt [$($br:tt)*] ($($skip:tt)*) $else:tt $p:tt $f:tt $c:tt
        { $($h:tt)* } $($rest:tt)*) => {
        $crate::select!(@parse $b [$($br)* (($($skip)*) $p $f $c ({ $($h)* }))]
            ($($skip)* _) $else $($rest)*)
    };
    (@handler $b:tt [$($br:tt)*] ($($skip:tt)*) $else:tt $p:tt $f:tt $c:tt
        $h:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $b [$($br)* (($($skip)*) $p $f $c ($h))]
            ($($skip)* _) $else $($($rest)*)?)
    };

    // Expansion.
    (@run $biased:tt ($($all:tt)*) ($($else:tt)*)
        $( (($($skip:tt)*) [$($p:tt)*] ($f:expr) ($c:expr) ($h:expr)) )*) => {{
        const BRANCHES: u32 = 0 $( + $crate::__private::one(stringify!($f)) )*;
        const _: () = ::core::assert!(BRANCHES <= 64, "select! takes at most 64 branches");
        let mut disabled: u64 = 0;
        $(
            if !$c {
                disabled |= 1u64 << (0u32 $( + $crate::__private::one(stringify!($skip)) )*);
            }
        )*
        let output = {
            #[allow(unused_mut)]
            let mut futures = ( $( ::core::pin::pin!(::core::future::IntoFuture::into_future($f)), )* );
            ::core::future::poll_fn(move |cx| {
                let start = if $biased { 0 } else { $crate::__private::random_below(BRANCHES) };
                for i in 0..BRANCHES {
                    // `start + i` wrapped below BRANCHES (both are below it).
                    let mut branch = start + i;
                    if branch >= BRANCHES {
                        branch -= BRANCHES;
                    }
                    $(
                        if branch == 0u32 $( + $crate::__private::one(stringify!($skip)) )*
                            && disabled & (1u64 << branch) == 0
                        {
                            let ( $($skip,)* fut, .. ) = &mut futures;
                            if let ::core::task::Poll::Ready(out) =
                                ::core::future::Future::poll(fut.as_mut(), cx)
                            {
                                #[allow(unused_variables, unreachable_patterns)]
                                let matched = match &out {
                                    $crate::__select_clean!(top [] $($p)*) => true,
                                    _ => false,
                                };
                                if matched {
                                    return ::core::task::Poll::Ready(
                                        $crate::__select_wrap!(($($skip)*) out),
                                    );
                                }
                                disabled |= 1u64 << branch;
                            }
                        }
                    )*
                }
                if disabled.count_ones() >= BRANCHES {
                    return ::core::task::Poll::Ready($crate::__select_wrap!(
                        @end ($($all)*) $crate::__private::AllDisabled
                    ));
                }
                ::core::task::Poll::Pending
            })
            .await
        };
        match output {
            $( $crate::__select_wrap!(($($skip)*) $($p)*) => $h, )*
            $crate::__select_wrap!(@end ($($all)*) $crate::__private::AllDisabled) => {
                $crate::__select_else!($($else)*)
            }
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("select!: a pattern that matched no longer matches"),
        }
    }};

    // Entry without `biased;` (last: the rules above start with `@` or `biased`).
    ($($rest:tt)+) => {
        $crate::select!(@parse false [] () () $($rest)+)
    };
}

/// `select!`'s `else`, or its panic.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_else {
    () => {
        ::core::panic!("all branches are disabled and there is no else branch")
    };
    ($e:expr) => {
        $e
    };
}

/// Wraps an expression or a pattern in `Later(... Here(x))`, one `Later` per `_`; with
/// `@end`, `Later` per `_` around `x` itself.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_wrap {
    (() $($x:tt)*) => {
        $crate::__private::Out::Here($($x)*)
    };
    ((_ $($skip:tt)*) $($x:tt)*) => {
        $crate::__private::Out::Later($crate::__select_wrap!(($($skip)*) $($x)*))
    };
    (@end () $($x:tt)*) => {
        $($x)*
    };
    (@end (_ $($skip:tt)*) $($x:tt)*) => {
        $crate::__private::Out::Later($crate::__select_wrap!(@end ($($skip)*) $($x)*))
    };
}

/// A pattern without its `mut` and `ref` keywords, for testing it against a reference
/// (where default binding modes bind by reference and `mut x` would try to move). Walks the
/// tokens with an explicit stack of the groups it is inside.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_clean {
    ($up:tt [$($d:tt)*] mut $($r:tt)*) => { $crate::__select_clean!($up [$($d)*] $($r)*) };
    ($up:tt [$($d:tt)*] ref $($r:tt)*) => { $crate::__select_clean!($up [$($d)*] $($r)*) };
    ($up:tt [$($d:tt)*] ( $($i:tt)* ) $($r:tt)*) => {
        $crate::__select_clean!(($up [$($d)*] paren [$($r)*]) [] $($i)*)
    };
    ($up:tt [$($d:tt)*] [ $($i:tt)* ] $($r:tt)*) => {
        $crate::__select_clean!(($up [$($d)*] bracket [$($r)*]) [] $($i)*)
    };
    ($up:tt [$($d:tt)*] { $($i:tt)* } $($r:tt)*) => {
        $crate::__select_clean!(($up [$($d)*] brace [$($r)*]) [] $($i)*)
    };
    ($up:tt [$($d:tt)*] $t:tt $($r:tt)*) => { $crate::__select_clean!($up [$($d)* $t] $($r)*) };
    (($up:tt [$($pd:tt)*] paren [$($pr:tt)*]) [$($d:tt)*]) => {
        $crate::__select_clean!($up [$($pd)* ( $($d)* )] $($pr)*)
    };
    (($up:tt [$($pd:tt)*] bracket [$($pr:tt)*]) [$($d:tt)*]) => {
        $crate::__select_clean!($up [$($pd)* [ $($d)* ]] $($pr)*)
    };
    (($up:tt [$($pd:tt)*] brace [$($pr:tt)*]) [$($d:tt)*]) => {
        $crate::__select_clean!($up [$($pd)* { $($d)* }] $($pr)*)
    };
    (top [$($d:tt)*]) => { $($d)* };
}

/// Support for the macros above; not part of the API.
#[doc(hidden)]
pub mod __private {
    use std::sync::atomic::{AtomicU32, Ordering};

    /// `select!`'s result: `Here(x)` is this branch, `Later(..)` a later one.
    #[derive(Debug)]
    pub enum Out<T, R> {
        /// This branch won.
        Here(T),
        /// A later branch won (or, at the end of the chain, none did).
        Later(R),
    }

    /// Every branch of a `select!` is disabled.
    #[derive(Debug)]
    pub struct AllDisabled;

    /// 1, whatever the argument (which only drives a macro repetition).
    pub const fn one(_: &str) -> u32 {
        1
    }

    /// An empty output slot, of a type inferred from its later use.
    pub fn unset<T>(_: &str) -> Option<T> {
        None
    }

    /// Takes a finished branch's output.
    pub fn take<T>(slot: &mut Option<T>) -> T {
        slot.take()
            .expect("a join! future polled again after it completed")
    }

    /// A cheap pseudo-random number below `n` (> 0): a shared counter scrambled by a
    /// 32-bit mixer. Not for anything but spreading `select!`'s start branch.
    pub fn random_below(n: u32) -> u32 {
        static COUNTER: AtomicU32 = AtomicU32::new(0x9e37_79b9);
        let mut x = COUNTER.fetch_add(0x9e37_79b9, Ordering::Relaxed);
        x ^= x >> 16;
        x = x.wrapping_mul(0x7feb_352d);
        x ^= x >> 15;
        x = x.wrapping_mul(0x846c_a68b);
        x ^= x >> 16;
        ((u64::from(x) * u64::from(n)) >> 32) as u32
    }
}
