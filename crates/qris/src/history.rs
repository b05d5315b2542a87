//! Every page of the withdrawal history as one stream.

use std::collections::VecDeque;

use futures_util::Stream;
use gerbang_core::Error;

use crate::client::QrisClient;
use crate::request::WithdrawHistoryQuery;
use crate::types::{Withdrawal, WithdrawalPage};

impl QrisClient {
    /// Every withdrawal of the history from `query`'s page on, one at a time, fetching page
    /// after page of [`withdraw_history`](Self::withdraw_history) lazily: a page is asked for
    /// only when the stream is polled past the items already fetched, so taking the first few
    /// costs one call.
    ///
    /// The walk stops after the page numbered `pagination.total_pages`, or, when the gateway does
    /// not say, after an empty page or one shorter than the limit. An error (of any page) is
    /// yielded once and ends the stream.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use gerbang_qris::{QrisClient, WithdrawHistoryQuery, WithdrawalStatus};
    ///
    /// # async fn run(client: QrisClient) -> Result<(), gerbang_core::Error> {
    /// let query = WithdrawHistoryQuery::new().limit(50).status(WithdrawalStatus::Rejected);
    /// let rejected: Vec<_> = client.withdraw_history_stream(query).try_collect().await?;
    /// println!("{} rejected withdrawals", rejected.len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn withdraw_history_stream(
        &self,
        query: WithdrawHistoryQuery,
    ) -> impl Stream<Item = Result<Withdrawal, Error>> + Send + 'static {
        let walk = Walk { client: self.clone(), next: Some(query), fetched: VecDeque::new() };
        futures_util::stream::unfold(walk, |mut walk| async move {
            loop {
                if let Some(withdrawal) = walk.fetched.pop_front() {
                    return Some((Ok(withdrawal), walk));
                }
                let query = walk.next.take()?;
                match walk.client.withdraw_history(&query).await {
                    Ok(page) => {
                        walk.next = next_page(&query, &page);
                        walk.fetched.extend(page.data);
                    }
                    // `next` is now `None`: the stream ends after the error.
                    Err(error) => return Some((Err(error), walk)),
                }
            }
        })
    }
}

/// Where a walk of the history stands.
struct Walk {
    client: QrisClient,
    /// The page to fetch when `fetched` runs out; `None` once the last one was fetched.
    next: Option<WithdrawHistoryQuery>,
    fetched: VecDeque<Withdrawal>,
}

/// The query for the page after `page` (fetched with `query`), if there is one.
fn next_page(query: &WithdrawHistoryQuery, page: &WithdrawalPage) -> Option<WithdrawHistoryQuery> {
    if page.data.is_empty() {
        return None;
    }
    let current = query.page_number();
    let more = match page.pagination.total_pages {
        Some(total_pages) => u64::from(current) < total_pages,
        None => page.data.len() >= query.page_size() as usize,
    };
    let following = current.checked_add(1)?;
    more.then(|| query.clone().page(following))
}
