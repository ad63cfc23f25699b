from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, str_enum
from domain.consumers.types import Category, UtilityType


class Plan(Base):
    """A billing plan offered to one consumer category and sub-category."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("monthly_fee >= 0", name="monthly_fee_not_negative"),
        Index("ix_plans_category_sub_category", "category", "sub_category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str] = mapped_column(String(24), unique=True)
    category: Mapped[Category] = mapped_column(str_enum(Category, "category"))
    sub_category: Mapped[str] = mapped_column(String(40))
    monthly_fee: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    rates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    services: Mapped[list[PlanService]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", lazy="selectin"
    )


class PlanService(Base):
    """A utility service a plan includes; metered services need a meter at activation."""

    __tablename__ = "plan_services"
    __table_args__ = (UniqueConstraint("plan_id", "utility", name="uq_plan_services_plan_utility"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    utility: Mapped[UtilityType] = mapped_column(ForeignKey("utility_services.code"))
    metered: Mapped[bool] = mapped_column(default=True)

    plan: Mapped[Plan] = relationship(back_populates="services")
