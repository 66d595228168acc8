//! One line of prose per act, for `read`, `sync` and the demo.

use backchannel_core::act::ChannelPurpose;
use backchannel_core::procedure::{ClauseAnswer, Conveyance};
use backchannel_core::{ActBody, CaseState, PublicKey};

fn conditions(terms: &[backchannel_formula::Condition]) -> String {
    let parts: Vec<String> = terms
        .iter()
        .map(|c| format!("{} = {}", c.issue, c.options.join(" or ")))
        .collect();
    parts.join(", ")
}

/// Describes an act as its author did it.
pub fn describe(body: &ActBody, state: Option<&CaseState>) -> String {
    let name = |key: &PublicKey| state.map_or_else(|| key.short(), |s| s.name_of(key));
    match body {
        ActBody::CaseOpened {
            title,
            mediator_name,
            ..
        } => {
            format!("opened the case \"{title}\" as mediator ({mediator_name})")
        }
        ActBody::MemberAdmitted { name, role, .. } => {
            format!("admitted {name} as {}", role.label())
        }
        ActBody::ChannelOpened {
            channel,
            purpose: ChannelPurpose::Bilateral { party },
        } => {
            format!("opened the bilateral channel {channel} with {party}")
        }
        ActBody::ChannelOpened {
            channel,
            purpose: ChannelPurpose::Direct,
        } => {
            format!("opened direct talks in channel {channel}, with every party's consent")
        }
        ActBody::MembersChanged { members } => {
            let names: Vec<String> = members.iter().map(name).collect();
            format!("set the channel's members: {}", names.join(", "))
        }
        ActBody::ChannelSeated { channel, members } => {
            let names: Vec<String> = members.iter().map(name).collect();
            format!("seated in channel {channel}: {}", names.join(", "))
        }
        ActBody::Message { text } => text.clone(),
        ActBody::CharterProposed { charter } => format!(
            "proposed the charter: agenda items by {}, non-papers {}, attribution {}, {} deadline(s)",
            charter.agenda_proposers.word(),
            if charter.non_papers {
                "allowed"
            } else {
                "not allowed"
            },
            charter.attribution.word(),
            charter.deadlines.len()
        ),
        ActBody::CharterAccepted { .. } => "accepted the charter".into(),
        ActBody::IssuesDefined { issues } => {
            let titles: Vec<&str> = issues.iter().map(|i| i.title.as_str()).collect();
            format!("defined the issues: {}", titles.join("; "))
        }
        ActBody::AgendaProposed {
            title,
            demand: true,
        } => format!("asked that a demand be on the agenda: {title}"),
        ActBody::AgendaProposed {
            title,
            demand: false,
        } => format!("proposed an agenda item: {title}"),
        ActBody::AgendaConsented { item } => format!("consented to agenda item {item}"),
        ActBody::PositionSealed { replaces: None, .. } => {
            "sealed its position to the mediator".into()
        }
        ActBody::PositionSealed {
            replaces: Some(version),
            ..
        } => format!(
            "sealed a revision of its position (replacing version {version}) to the mediator"
        ),
        ActBody::RequirementRegistered {
            requirement,
            rationale,
        } => {
            format!("registered requirement {}: {rationale}", requirement.id)
        }
        ActBody::ConveyConsent { to, .. } => {
            format!("consented that its message be conveyed, signed, to {to}")
        }
        ActBody::Conveyed {
            from,
            conveyance: Conveyance::Paraphrase { text },
        } => {
            format!("conveys from {from}, in the mediator's words: {text}")
        }
        ActBody::Conveyed {
            from,
            conveyance: Conveyance::Original { original, .. },
        } => match original.clone().verify() {
            Ok(v) => format!(
                "conveys from {from}, the original signed by {}: {}",
                name(&v.act.author),
                describe(&v.act.body, state)
            ),
            Err(_) => format!("conveys an original from {from}"),
        },
        ActBody::NonPaper { text } => format!("tabled a non-paper (no attribution): {text}"),
        ActBody::DraftIssued { draft } => {
            format!(
                "issued draft {} \"{}\" ({} clauses)",
                draft.version,
                draft.title,
                draft.clauses.len()
            )
        }
        ActBody::DraftAnswered { version, answers } => {
            let objections = answers
                .values()
                .filter(|a| !matches!(a, ClauseAnswer::Accept))
                .count();
            format!(
                "answered draft {version}: {} accepted, {objections} objected or preferred another option",
                answers.len() - objections
            )
        }
        ActBody::OfferCommitted { commitment } => format!(
            "committed to a sealed conditional offer ({})",
            commitment.short()
        ),
        ActBody::OfferTabled { offer, .. } => {
            format!(
                "offers: we will do {} if they do {}",
                conditions(&offer.promise),
                conditions(&offer.condition)
            )
        }
        ActBody::OfferWithdrawn { commitment } => {
            format!("withdrew its offer ({})", commitment.short())
        }
        ActBody::OffersOpened { offers } => {
            let parts: Vec<String> = offers
                .iter()
                .filter_map(|s| s.clone().verify().ok())
                .filter_map(|v| match &v.act.body {
                    ActBody::OfferTabled { offer, .. } => Some(format!(
                        "{} will do {} if the other side does {}",
                        name(&v.act.author),
                        conditions(&offer.promise),
                        conditions(&offer.condition)
                    )),
                    _ => None,
                })
                .collect();
            format!("opened matching offers: {}", parts.join("; "))
        }
        ActBody::OffersMatched { commitments } => {
            let ids: Vec<String> = commitments.iter().map(|c| c.short()).collect();
            format!(
                "records that offers {} matched and were opened to the parties",
                ids.join(" and ")
            )
        }
        ActBody::DirectTalksProposed { channel } => {
            format!("proposed direct talks in channel {channel}")
        }
        ActBody::DirectTalksConsented { channel } => {
            format!("consented to direct talks in {channel}")
        }
        ActBody::AgreementTabled { agreement } => {
            format!(
                "tabled the agreement \"{}\" for signature ({} clauses)",
                agreement.title,
                agreement.clauses.len()
            )
        }
        ActBody::AgreementSigned { agreement } => {
            format!("signed the agreement ({})", agreement.short())
        }
        ActBody::AgreementPublished {
            agreement,
            signatures,
        } => format!(
            "published the agreement \"{}\" with {} signatures: {}",
            agreement.title,
            signatures.len(),
            agreement
                .clauses
                .iter()
                .map(|c| c.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        ActBody::AgreementGuaranteed { .. } => {
            "co-signed the published agreement as guarantor".into()
        }
        ActBody::DeclarationTabled { declaration } => {
            format!("tabled its declaration: {}", declaration.text)
        }
        ActBody::DeclarationsPublished { declarations } => {
            format!(
                "published {} parallel unilateral declarations",
                declarations.len()
            )
        }
        ActBody::Checkpoint { heads } => {
            let parts: Vec<String> = heads
                .iter()
                .map(|h| format!("{}#{} {}", h.channel, h.index, h.hash.short()))
                .collect();
            format!("co-signed the channel heads it holds: {}", parts.join(", "))
        }
        ActBody::PlanProposed { plan } => format!(
            "proposed the implementation plan: {} commitment(s), {} milestone(s), {} verifier(s)",
            plan.commitments.len(),
            plan.milestones.len(),
            plan.verifiers.len()
        ),
        ActBody::PlanAccepted { proposal } => {
            format!("accepted the implementation plan {}", proposal.short())
        }
        ActBody::ProgressReported {
            commitment,
            status,
            note,
        } => with_note(format!("reported {commitment} at {status} of 3"), note),
        ActBody::Attested {
            commitment,
            status,
            evidence,
        } => with_note(format!("attested {commitment} at {status} of 3"), evidence),
        ActBody::DisputeOpened {
            commitments,
            complaint,
        } => format!(
            "opened a dispute over {}: {complaint}",
            commitments.join(", ")
        ),
        ActBody::DisputeEscalated { dispute } => {
            format!("escalated dispute {dispute} to the ladder's next stage")
        }
        ActBody::DisputeOpinion { dispute, opinion } => {
            format!("gave an advisory opinion in dispute {dispute}: {opinion}")
        }
        ActBody::DisputeResolved {
            dispute,
            resolution,
        } => format!("recorded dispute {dispute} resolved: {resolution}"),
        ActBody::RemedyInvoked { dispute, remedy } => {
            format!("invoked a remedy in dispute {dispute}: {}", remedy.word())
        }
        ActBody::ExtensionConsented { commitment, days } => {
            format!("consented to moving {commitment}'s deadline by {days} days")
        }
        ActBody::DeadlineExtended { commitment, days } => {
            format!(
                "moved {commitment}'s deadline by {days} days, with the consents the plan requires"
            )
        }
    }
}

fn with_note(said: String, note: &str) -> String {
    if note.is_empty() {
        said
    } else {
        format!("{said}: {note}")
    }
}
