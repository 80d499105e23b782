//! Statements sqlparser 0.64 cannot parse, or parses without their LIKE
//! pattern (its SHOW fallback keeps only the identifiers), recognised from
//! their tokens. Tools send them: mysqldump (`SHOW TABLE STATUS`,
//! `SHOW TRIGGERS`, `SHOW CREATE DATABASE`, `SHOW KEYS`, `START TRANSACTION
//! WITH CONSISTENT SNAPSHOT`) and its output (`ALTER TABLE t DISABLE KEYS`),
//! and whoever compares copies of a table (`CHECKSUM TABLE`). Only a query
//! holding one such statement is recognised; the mysql CLI and mysqldump send
//! one statement per query.

use crate::error;
use crate::load_data::{LoadData, OnDuplicate};
use crate::result::SqlError;
use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};
use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A statement recognised here rather than by sqlparser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextStatement {
    /// `SHOW TABLE STATUS [{FROM | IN} db] [LIKE 'pattern']`.
    ShowTableStatus {
        db: Option<String>,
        like: Option<String>,
    },
    /// `SHOW CREATE {DATABASE | SCHEMA} [IF NOT EXISTS] db`.
    ShowCreateDatabase { name: String, if_not_exists: bool },
    /// `SHOW {INDEX | INDEXES | KEYS} {FROM | IN} t [{FROM | IN} db]`.
    ShowIndex(ObjectName),
    /// `SHOW TRIGGERS [{FROM | IN} db] [LIKE ... | WHERE ...]`.
    ShowTriggers { db: Option<String> },
    /// `SHOW {FUNCTION | PROCEDURE} STATUS [LIKE ... | WHERE ...]`.
    ShowRoutineStatus,
    /// `SHOW EVENTS [{FROM | IN} db] [LIKE ... | WHERE ...]`.
    ShowEvents { db: Option<String> },
    /// `START TRANSACTION [characteristic [, characteristic] ...]`, each
    /// `WITH CONSISTENT SNAPSHOT` (mysqldump --single-transaction),
    /// `READ ONLY` or `READ WRITE`.
    StartTransaction {
        /// `READ ONLY` (`Some(true)`) or `READ WRITE` (`Some(false)`).
        read_only: Option<bool>,
    },
    /// `SET [GLOBAL | SESSION | LOCAL] TRANSACTION characteristic [, ...]`,
    /// each `ISOLATION LEVEL level`, `READ ONLY` or `READ WRITE`. sqlparser
    /// parses it but drops the scope, which decides what it changes.
    SetTransaction {
        /// Which transactions it applies to.
        scope: TransactionScope,
        /// The level, as `transaction_isolation` spells it
        /// (`READ-COMMITTED`).
        isolation: Option<&'static str>,
        /// `READ ONLY` (`Some(true)`) or `READ WRITE` (`Some(false)`).
        read_only: Option<bool>,
    },
    /// `ALTER TABLE t {DISABLE | ENABLE} KEYS`.
    AlterTableKeys(ObjectName),
    /// `ALTER TABLE t` with clauses sqlparser cannot parse (ORMs send them),
    /// every clause one of [`AlterClause`].
    AlterTable {
        table: ObjectName,
        clauses: Vec<AlterClause>,
    },
    /// `ALTER {DATABASE | SCHEMA} [db] option ...`, each option
    /// `[DEFAULT] {CHARACTER SET | CHARSET | COLLATE} [=] x`: sqlparser
    /// knows only other dialects' ALTER SCHEMA.
    AlterDatabase {
        /// The database; the current one when absent.
        name: Option<String>,
        charset: Option<String>,
        collation: Option<String>,
    },
    /// `LOAD DATA [LOCAL] INFILE ...`.
    LoadData(LoadData),
    /// `CHECKSUM TABLE t [, t ...] [QUICK | EXTENDED]`.
    ChecksumTable {
        tables: Vec<ObjectName>,
        /// QUICK: only a live checksum kept by the engine, which InnoDB
        /// (and Basalt) has not.
        quick: bool,
    },
}

/// An ALTER TABLE clause recognised here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterClause {
    /// `COMMENT [=] 'text'`.
    Comment(String),
    /// `RENAME {INDEX | KEY} from TO to`.
    RenameIndex { from: String, to: String },
    /// `DROP {INDEX | KEY} name`.
    DropIndex(String),
    /// `DROP CHECK name`.
    DropCheck(String),
    /// `ALTER {CHECK | CONSTRAINT} name [NOT] ENFORCED`.
    EnforceCheck { name: String, enforced: bool },
    /// `[DEFAULT] {CHARSET | CHARACTER SET | COLLATE} [=] x`, `ENGINE [=] x`,
    /// `ROW_FORMAT [=] x`: checked as CREATE TABLE checks them.
    TableOption {
        /// CHARSET, COLLATE, ENGINE or ROW_FORMAT.
        key: String,
        value: String,
    },
    /// `CONVERT TO CHARACTER SET charset [COLLATE collation]`.
    ConvertTo {
        charset: String,
        collation: Option<String>,
    },
}

/// What a `SET ... TRANSACTION` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionScope {
    /// No scope: the session's next transaction only.
    Next,
    /// `SESSION` or `LOCAL`: the session's transactions from now on.
    Session,
    /// `GLOBAL`: the default of sessions.
    Global,
}

/// The statement `sql` (executable comments already unwrapped) is, if it is
/// one of [`TextStatement`]'s; an error if it starts like one but is
/// malformed; `None` for everything else, left to sqlparser.
pub fn recognise(sql: &str) -> Option<Result<TextStatement, SqlError>> {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()?;
    if !["SHOW", "ALTER", "CHECKSUM", "START", "LOAD", "SET"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
    {
        return None;
    }
    let tokens = Tokenizer::new(&MySqlDialect {}, sql).tokenize().ok()?;
    let mut t = Cursor {
        tokens: tokens
            .into_iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
            .collect(),
        pos: 0,
    };
    statement(&mut t)
}

fn statement(t: &mut Cursor) -> Option<Result<TextStatement, SqlError>> {
    if t.keywords(&["SHOW", "TABLE", "STATUS"]) {
        return Some(show_table_status(t));
    }
    if t.keywords(&["SHOW", "CREATE", "DATABASE"]) || t.keywords(&["SHOW", "CREATE", "SCHEMA"]) {
        return Some(show_create_database(t));
    }
    if ["INDEX", "INDEXES", "KEYS"]
        .iter()
        .any(|k| t.keywords(&["SHOW", k]) || t.keywords(&["SHOW", "EXTENDED", k]))
    {
        return Some(show_index(t));
    }
    if t.keywords(&["SHOW", "TRIGGERS"]) {
        return Some(show_triggers(t).map(|db| TextStatement::ShowTriggers { db }));
    }
    if t.keywords(&["SHOW", "EVENTS"]) {
        return Some(show_triggers(t).map(|db| TextStatement::ShowEvents { db }));
    }
    if t.keywords(&["START", "TRANSACTION"]) {
        return Some(start_transaction(t));
    }
    if t.keyword("SET") {
        let scope = if t.keyword("GLOBAL") {
            TransactionScope::Global
        } else if t.keyword("SESSION") || t.keyword("LOCAL") {
            TransactionScope::Session
        } else {
            TransactionScope::Next
        };
        // Every other SET is sqlparser's.
        return t.keyword("TRANSACTION").then(|| set_transaction(t, scope));
    }
    if t.keywords(&["SHOW", "FUNCTION", "STATUS"]) || t.keywords(&["SHOW", "PROCEDURE", "STATUS"]) {
        return Some(t.ignored_filter().map(|_| TextStatement::ShowRoutineStatus));
    }
    if t.keywords(&["ALTER", "TABLE"]) {
        // Only these forms; every other ALTER TABLE is sqlparser's.
        let table = t.table().ok()?;
        if (t.keyword("DISABLE") || t.keyword("ENABLE")) && t.keyword("KEYS") {
            return t
                .end()
                .is_ok()
                .then_some(Ok(TextStatement::AlterTableKeys(table)));
        }
        let mut clauses = Vec::new();
        loop {
            clauses.push(alter_clause(t)?);
            if !t.token(&Token::Comma) {
                break;
            }
        }
        return t
            .end()
            .is_ok()
            .then_some(Ok(TextStatement::AlterTable { table, clauses }));
    }
    if t.keywords(&["ALTER", "DATABASE"]) || t.keywords(&["ALTER", "SCHEMA"]) {
        return Some(alter_database(t));
    }
    if t.keywords(&["CHECKSUM", "TABLE"]) {
        return Some(checksum_table(t));
    }
    if t.keywords(&["LOAD", "DATA"]) {
        return Some(load_data(t));
    }
    None
}

/// The rest of `START TRANSACTION`: its characteristics, comma-separated.
/// A consistent snapshot is what every Basalt transaction has.
fn start_transaction(t: &mut Cursor) -> Result<TextStatement, SqlError> {
    let mut read_only = None;
    if t.pos < t.tokens.len() && !t.token(&Token::SemiColon) {
        loop {
            if let Some(mode) = access_mode(t) {
                read_only = Some(mode);
            } else if !t.keywords(&["WITH", "CONSISTENT", "SNAPSHOT"]) {
                return Err(t.syntax_error());
            }
            if !t.token(&Token::Comma) {
                break;
            }
        }
    }
    t.end()?;
    Ok(TextStatement::StartTransaction { read_only })
}

/// `READ ONLY` (true) or `READ WRITE` (false), if next.
fn access_mode(t: &mut Cursor) -> Option<bool> {
    if t.keywords(&["READ", "ONLY"]) {
        Some(true)
    } else if t.keywords(&["READ", "WRITE"]) {
        Some(false)
    } else {
        None
    }
}

/// The characteristics of `SET [scope] TRANSACTION`.
fn set_transaction(t: &mut Cursor, scope: TransactionScope) -> Result<TextStatement, SqlError> {
    let (mut isolation, mut read_only) = (None, None);
    loop {
        if t.keywords(&["ISOLATION", "LEVEL"]) {
            isolation = Some(if t.keywords(&["READ", "UNCOMMITTED"]) {
                "READ-UNCOMMITTED"
            } else if t.keywords(&["READ", "COMMITTED"]) {
                "READ-COMMITTED"
            } else if t.keywords(&["REPEATABLE", "READ"]) {
                "REPEATABLE-READ"
            } else if t.keyword("SERIALIZABLE") {
                "SERIALIZABLE"
            } else {
                return Err(t.syntax_error());
            });
        } else if let Some(mode) = access_mode(t) {
            read_only = Some(mode);
        } else {
            return Err(t.syntax_error());
        }
        if !t.token(&Token::Comma) {
            break;
        }
    }
    t.end()?;
    Ok(TextStatement::SetTransaction {
        scope,
        isolation,
        read_only,
    })
}

/// The rest of `LOAD DATA [LOW_PRIORITY | CONCURRENT] [LOCAL] INFILE 'file'
/// [REPLACE | IGNORE] INTO TABLE t [CHARACTER SET cs] [{FIELDS | COLUMNS}
/// [TERMINATED BY 's'] [[OPTIONALLY] ENCLOSED BY 'c'] [ESCAPED BY 'c']]
/// [LINES [STARTING BY 's'] [TERMINATED BY 's']] [IGNORE n {LINES | ROWS}]
/// [(col, ...)]`.
fn load_data(t: &mut Cursor) -> Result<TextStatement, SqlError> {
    let _ = t.keyword("LOW_PRIORITY") || t.keyword("CONCURRENT");
    let local = t.keyword("LOCAL");
    if !t.keyword("INFILE") {
        return Err(t.syntax_error());
    }
    let file = t.string()?;
    let on_duplicate = if t.keyword("REPLACE") {
        OnDuplicate::Replace
    } else if t.keyword("IGNORE") {
        OnDuplicate::Ignore
    } else {
        OnDuplicate::Default
    };
    if !t.keywords(&["INTO", "TABLE"]) {
        return Err(t.syntax_error());
    }
    let mut load = LoadData::new(local, file, t.table()?);
    load.on_duplicate = on_duplicate;
    if t.keywords(&["CHARACTER", "SET"]) || t.keyword("CHARSET") {
        t.name()?;
    }
    let one_byte = |s: String, t: &Cursor| match s.as_bytes() {
        [] => Ok(None),
        [b] => Ok(Some(*b)),
        _ => Err(t.syntax_error()),
    };
    if t.keyword("FIELDS") || t.keyword("COLUMNS") {
        loop {
            if t.keywords(&["TERMINATED", "BY"]) {
                load.fields_terminated = t.string()?.into_bytes();
            } else if t.keywords(&["OPTIONALLY", "ENCLOSED", "BY"])
                || t.keywords(&["ENCLOSED", "BY"])
            {
                load.enclosed = one_byte(t.string()?, t)?;
            } else if t.keywords(&["ESCAPED", "BY"]) {
                load.escaped = one_byte(t.string()?, t)?;
            } else {
                break;
            }
        }
    }
    if t.keyword("LINES") {
        loop {
            if t.keywords(&["STARTING", "BY"]) {
                load.lines_starting = t.string()?.into_bytes();
            } else if t.keywords(&["TERMINATED", "BY"]) {
                load.lines_terminated = t.string()?.into_bytes();
            } else {
                break;
            }
        }
    }
    if t.keyword("IGNORE") {
        load.ignore_lines = match t.tokens.get(t.pos) {
            Some(Token::Number(n, _)) => n.parse().map_err(|_| t.syntax_error())?,
            _ => return Err(t.syntax_error()),
        };
        t.pos += 1;
        if !(t.keyword("LINES") || t.keyword("ROWS")) {
            return Err(t.syntax_error());
        }
    }
    if t.token(&Token::LParen) {
        loop {
            load.columns.push(t.name()?);
            if !t.token(&Token::Comma) {
                break;
            }
        }
        if !t.token(&Token::RParen) {
            return Err(t.syntax_error());
        }
    }
    if load.fields_terminated.is_empty() || load.lines_terminated.is_empty() {
        return Err(error::unsupported("empty FIELDS or LINES TERMINATED BY"));
    }
    t.end()?;
    Ok(TextStatement::LoadData(load))
}

/// One clause of [`AlterClause`]'s kinds, or `None` (left to sqlparser).
fn alter_clause(t: &mut Cursor) -> Option<AlterClause> {
    let value = |t: &mut Cursor| {
        t.token(&Token::Eq);
        t.name().or_else(|_| t.string()).ok()
    };
    if t.keyword("COMMENT") {
        t.token(&Token::Eq);
        return t.string().ok().map(AlterClause::Comment);
    }
    if t.keywords(&["RENAME", "INDEX"]) || t.keywords(&["RENAME", "KEY"]) {
        let from = t.name().ok()?;
        let to = (t.keyword("TO")).then(|| t.name().ok()).flatten()?;
        return Some(AlterClause::RenameIndex { from, to });
    }
    if t.keywords(&["DROP", "INDEX"]) || t.keywords(&["DROP", "KEY"]) {
        return t.name().ok().map(AlterClause::DropIndex);
    }
    if t.keywords(&["DROP", "CHECK"]) {
        return t.name().ok().map(AlterClause::DropCheck);
    }
    if t.keywords(&["ALTER", "CHECK"]) || t.keywords(&["ALTER", "CONSTRAINT"]) {
        let name = t.name().ok()?;
        let enforced = !t.keyword("NOT");
        return t
            .keyword("ENFORCED")
            .then_some(AlterClause::EnforceCheck { name, enforced });
    }
    if t.keywords(&["CONVERT", "TO", "CHARACTER", "SET"])
        || t.keywords(&["CONVERT", "TO", "CHARSET"])
    {
        let charset = t.name().ok()?;
        let collation = if t.keyword("COLLATE") {
            Some(t.name().ok()?)
        } else {
            None
        };
        return Some(AlterClause::ConvertTo { charset, collation });
    }
    t.keyword("DEFAULT");
    let key = ["CHARSET", "COLLATE", "ENGINE", "ROW_FORMAT"]
        .into_iter()
        .find(|k| t.keyword(k))
        .or_else(|| t.keywords(&["CHARACTER", "SET"]).then_some("CHARSET"))?;
    let value = value(t)?;
    Some(AlterClause::TableOption {
        key: key.to_string(),
        value,
    })
}

fn show_table_status(t: &mut Cursor) -> Result<TextStatement, SqlError> {
    let db = t.database_clause()?;
    let like = if t.keyword("LIKE") {
        Some(t.string()?)
    } else if t.keyword("WHERE") {
        return Err(error::unsupported("SHOW TABLE STATUS ... WHERE"));
    } else {
        None
    };
    t.end()?;
    Ok(TextStatement::ShowTableStatus { db, like })
}

fn show_create_database(t: &mut Cursor) -> Result<TextStatement, SqlError> {
    let if_not_exists = t.keywords(&["IF", "NOT", "EXISTS"]);
    let name = t.name()?;
    t.end()?;
    Ok(TextStatement::ShowCreateDatabase {
        name,
        if_not_exists,
    })
}

fn alter_database(t: &mut Cursor) -> Result<TextStatement, SqlError> {
    let starts_option = [
        "DEFAULT",
        "CHARACTER",
        "CHARSET",
        "COLLATE",
        "ENCRYPTION",
        "READ",
    ]
    .iter()
    .any(|k| t.is_keyword(t.pos, k));
    let name = if starts_option { None } else { Some(t.name()?) };
    let (mut charset, mut collation) = (None, None);
    loop {
        t.keyword("DEFAULT");
        let slot = if t.keyword("CHARSET") || t.keywords(&["CHARACTER", "SET"]) {
            &mut charset
        } else if t.keyword("COLLATE") {
            &mut collation
        } else {
            break;
        };
        t.token(&Token::Eq);
        *slot = Some(t.name().or_else(|_| t.string())?);
    }
    if t.keyword("ENCRYPTION") || t.keywords(&["READ", "ONLY"]) {
        return Err(error::unsupported(
            "ALTER DATABASE ... ENCRYPTION / READ ONLY",
        ));
    }
    if charset.is_none() && collation.is_none() {
        return Err(t.syntax_error());
    }
    t.end()?;
    Ok(TextStatement::AlterDatabase {
        name,
        charset,
        collation,
    })
}

fn show_index(t: &mut Cursor) -> Result<TextStatement, SqlError> {
    if !(t.keyword("FROM") || t.keyword("IN")) {
        return Err(t.syntax_error());
    }
    let mut table = t.table()?;
    if let Some(db) = t.database_clause()? {
        let name = table.0.pop().ok_or_else(|| t.syntax_error())?;
        table = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(db)), name]);
    }
    if t.keyword("WHERE") {
        return Err(error::unsupported("SHOW INDEX ... WHERE"));
    }
    t.end()?;
    Ok(TextStatement::ShowIndex(table))
}

/// The tail of SHOW TRIGGERS and SHOW EVENTS: the database they list.
fn show_triggers(t: &mut Cursor) -> Result<Option<String>, SqlError> {
    let db = t.database_clause()?;
    t.ignored_filter()?;
    Ok(db)
}

fn checksum_table(t: &mut Cursor) -> Result<TextStatement, SqlError> {
    let mut tables = vec![t.table()?];
    while t.token(&Token::Comma) {
        tables.push(t.table()?);
    }
    let quick = t.keyword("QUICK");
    if !quick {
        t.keyword("EXTENDED");
    }
    t.end()?;
    Ok(TextStatement::ChecksumTable { tables, quick })
}

struct Cursor {
    tokens: Vec<Token>,
    pos: usize,
}

impl Cursor {
    fn is_keyword(&self, at: usize, keyword: &str) -> bool {
        matches!(self.tokens.get(at), Some(Token::Word(w))
            if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        self.keywords(&[keyword])
    }

    /// Consume `keywords` if the next tokens are exactly them.
    fn keywords(&mut self, keywords: &[&str]) -> bool {
        let all = keywords
            .iter()
            .enumerate()
            .all(|(i, k)| self.is_keyword(self.pos + i, k));
        if all {
            self.pos += keywords.len();
        }
        all
    }

    fn token(&mut self, token: &Token) -> bool {
        let found = self.tokens.get(self.pos) == Some(token);
        if found {
            self.pos += 1;
        }
        found
    }

    fn syntax_error(&self) -> SqlError {
        let rest: Vec<String> = self.tokens[self.pos..]
            .iter()
            .map(|t| t.to_string())
            .collect();
        error::syntax(&rest.join(" "), 1)
    }

    fn name(&mut self) -> Result<String, SqlError> {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => {
                self.pos += 1;
                Ok(w.value.clone())
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// A table name, `t` or `db.t`.
    fn table(&mut self) -> Result<ObjectName, SqlError> {
        let mut parts = vec![Ident::new(self.name()?)];
        if self.token(&Token::Period) {
            parts.push(Ident::new(self.name()?));
        }
        Ok(ObjectName::from(parts))
    }

    fn string(&mut self) -> Result<String, SqlError> {
        match self.tokens.get(self.pos) {
            Some(Token::SingleQuotedString(s) | Token::DoubleQuotedString(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// An optional `{FROM | IN} db`.
    fn database_clause(&mut self) -> Result<Option<String>, SqlError> {
        if self.keyword("FROM") || self.keyword("IN") {
            return self.name().map(Some);
        }
        Ok(None)
    }

    /// `[LIKE 'pattern' | WHERE expr]` of a SHOW whose result is always
    /// empty, so the filter cannot change it.
    fn ignored_filter(&mut self) -> Result<(), SqlError> {
        if self.keyword("LIKE") {
            self.string()?;
        } else if self.keyword("WHERE") {
            if self.pos >= self.tokens.len() {
                return Err(self.syntax_error());
            }
            self.pos = self.tokens.len();
        }
        self.end()
    }

    /// Nothing but semicolons may follow.
    fn end(&mut self) -> Result<(), SqlError> {
        while self.token(&Token::SemiColon) {}
        if self.pos < self.tokens.len() {
            return Err(self.syntax_error());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{AlterClause, Ident, ObjectName, TextStatement as T, TransactionScope, recognise};

    fn table(db: Option<&str>, name: &str) -> ObjectName {
        ObjectName::from(
            db.into_iter()
                .chain([name])
                .map(Ident::new)
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn recognises_what_mysqldump_sends() {
        let ok = |sql: &str| recognise(sql).unwrap().unwrap();
        assert_eq!(
            ok("show table status like 'sb\\_test1'"),
            T::ShowTableStatus {
                db: None,
                like: Some("sb\\_test1".into())
            }
        );
        assert_eq!(
            ok("SHOW TABLE STATUS FROM `my db`;"),
            T::ShowTableStatus {
                db: Some("my db".into()),
                like: None
            }
        );
        assert_eq!(
            ok("SHOW CREATE DATABASE IF NOT EXISTS `sbtest`"),
            T::ShowCreateDatabase {
                name: "sbtest".into(),
                if_not_exists: true
            }
        );
        assert_eq!(
            ok("ALTER DATABASE `d` DEFAULT CHARACTER SET = utf8mb4 COLLATE utf8mb4_bin"),
            T::AlterDatabase {
                name: Some("d".into()),
                charset: Some("utf8mb4".into()),
                collation: Some("utf8mb4_bin".into()),
            }
        );
        assert_eq!(
            ok("alter schema collate 'utf8mb4_bin'"),
            T::AlterDatabase {
                name: None,
                charset: None,
                collation: Some("utf8mb4_bin".into()),
            }
        );
        assert_eq!(
            ok("SHOW KEYS FROM `t` IN d"),
            T::ShowIndex(table(Some("d"), "t"))
        );
        assert_eq!(
            ok("SHOW TRIGGERS LIKE 'sbtest1'"),
            T::ShowTriggers { db: None }
        );
        assert_eq!(
            ok("SHOW FUNCTION STATUS WHERE Db = 'sbtest'"),
            T::ShowRoutineStatus
        );
        assert_eq!(
            ok("show events from d"),
            T::ShowEvents {
                db: Some("d".into())
            }
        );
        assert_eq!(
            ok("START TRANSACTION  WITH CONSISTENT SNAPSHOT "),
            T::StartTransaction { read_only: None }
        );
        assert_eq!(
            ok("start transaction read only, with consistent snapshot;"),
            T::StartTransaction {
                read_only: Some(true)
            }
        );
        assert_eq!(
            ok("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE"),
            T::SetTransaction {
                scope: TransactionScope::Session,
                isolation: Some("READ-COMMITTED"),
                read_only: Some(false)
            }
        );
        assert_eq!(
            ok("set transaction read only"),
            T::SetTransaction {
                scope: TransactionScope::Next,
                isolation: None,
                read_only: Some(true)
            }
        );
        assert!(recognise("SET autocommit = 0").is_none());
        assert!(
            recognise("START TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                .unwrap()
                .is_err()
        );
        assert_eq!(
            ok("  ALTER TABLE `sbtest1` DISABLE KEYS  "),
            T::AlterTableKeys(table(None, "sbtest1"))
        );
        assert_eq!(
            ok(
                "ALTER TABLE t COMMENT = 'x', ENGINE=InnoDB, DEFAULT CHARSET utf8mb4, RENAME KEY a TO b, DROP KEY c, DROP CHECK d, ALTER CHECK e NOT ENFORCED"
            ),
            T::AlterTable {
                table: table(None, "t"),
                clauses: vec![
                    AlterClause::Comment("x".into()),
                    AlterClause::TableOption {
                        key: "ENGINE".into(),
                        value: "InnoDB".into()
                    },
                    AlterClause::TableOption {
                        key: "CHARSET".into(),
                        value: "utf8mb4".into()
                    },
                    AlterClause::RenameIndex {
                        from: "a".into(),
                        to: "b".into()
                    },
                    AlterClause::DropIndex("c".into()),
                    AlterClause::DropCheck("d".into()),
                    AlterClause::EnforceCheck {
                        name: "e".into(),
                        enforced: false
                    },
                ]
            }
        );
        assert_eq!(
            ok("checksum table a, d.b extended"),
            T::ChecksumTable {
                tables: vec![table(None, "a"), table(Some("d"), "b")],
                quick: false
            }
        );
    }

    #[test]
    fn leaves_other_statements_to_sqlparser() {
        for sql in [
            "SELECT 1",
            "SHOW TABLES",
            "SHOW CREATE TABLE t",
            "SET autocommit = 0",
            "ALTER TABLE t ADD COLUMN c int",
            "ALTER TABLE t DISABLE KEYS, ADD COLUMN c int",
            "ALTER TABLE t DROP KEY k, ADD COLUMN c int",
        ] {
            assert!(recognise(sql).is_none(), "{sql}");
        }
    }

    #[test]
    fn malformed_tails_are_syntax_errors() {
        for sql in [
            "SHOW TABLE STATUS LIKE",
            "SHOW CREATE DATABASE",
            "SHOW INDEX t",
            "CHECKSUM TABLE a,",
            "SHOW TRIGGERS WHERE",
        ] {
            let e = recognise(sql).unwrap().unwrap_err();
            assert_eq!(e.code, 1064, "{sql}");
        }
    }
}
